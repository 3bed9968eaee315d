import { randomUUID } from 'node:crypto';
import { WsClient } from '../../test/support/client.js';
import { startMultiDc, type MultiDc } from '../../test/support/multidc.js';
import { createConversation, known, register, type Person } from '../../test/multidc/workload.js';
import { percentile } from '../lib/stats.js';
import type { Row } from '../lib/table.js';
import type { Scenario } from './types.js';

/** Steady, far below saturation: the figures are latencies across the datacenters, not throughput. */
const RATE_PER_SECOND = 50;

interface Samples {
  ack: number[];
  delivered: number[];
}

/**
 * Two datacenters on this machine (two Kafka brokers, MirrorMaker 2, two apps), alice at dc1 and bob
 * at dc2. Alice sends at a steady rate into a group homed at dc1 (her ack is local; bob gets the
 * message through Kafka and MirrorMaker 2) and into one homed at dc2 (her send is forwarded over the
 * link; bob gets it at his home at once). Each send is timed until its ack and until bob's socket
 * has it; typing is timed from alice's frame to bob's socket.
 */
export const multidc: Scenario = async (options) => {
  const seconds = options.durationSec ?? (options.quick ? 5 : 20);
  const stack = await startMultiDc({ log: (line) => process.stderr.write(`  ${line}\n`) });
  try {
    const alice = await register(stack, 'dc1', 'alice');
    const bob = await register(stack, 'dc2', 'bob');
    await known(stack, 'dc1', bob);
    await known(stack, 'dc2', alice);
    const homedAtDc1 = (await createConversation(stack, alice, [bob], 'homed at dc1')).conversationId;
    const homedAtDc2 = (await createConversation(stack, bob, [alice], 'homed at dc2')).conversationId;
    const aliceWs = await WsClient.connect(stack.dc.dc1.wsUrl, alice.token);
    const bobWs = await WsClient.connect(stack.dc.dc2.wsUrl, bob.token);
    try {
      const local = await steadySends(stack, alice, bobWs, homedAtDc1, seconds);
      const forwarded = await steadySends(stack, alice, bobWs, homedAtDc2, seconds);
      const typing = await typingLatency(aliceWs, bobWs, homedAtDc1, options.quick ? 10 : 40);
      const row = (metric: string, samples: number[], p: number, note: string): Row => ({
        scenario: 'multi-DC',
        metric: `${metric} p${p}`,
        value: percentile(samples, p),
        unit: 'ms',
        note,
      });
      const rows: Row[] = [
        row('dc1 -> socket at dc2, via Kafka + MM2', local.delivered, 50, `${local.delivered.length} msgs at ${RATE_PER_SECOND}/s`),
        row('dc1 -> socket at dc2, via Kafka + MM2', local.delivered, 99, ''),
        row('ack, homed at the sender\'s DC', local.ack, 50, ''),
        row('ack, homed at the sender\'s DC', local.ack, 99, ''),
        row('ack, forwarded to the home DC', forwarded.ack, 50, `${forwarded.ack.length} msgs`),
        row('ack, forwarded to the home DC', forwarded.ack, 99, ''),
        row('forwarded -> socket at the home DC', forwarded.delivered, 50, ''),
        row('forwarded -> socket at the home DC', forwarded.delivered, 99, ''),
        row('typing dc1 -> socket at dc2', typing, 50, `${typing.length} frames`),
        row('typing dc1 -> socket at dc2', typing, 99, ''),
      ];
      return { rows, details: { local, forwarded, typing } };
    } finally {
      await Promise.all([aliceWs.close(), bobWs.close()]);
    }
  } finally {
    await stack.stop();
  }
};

async function steadySends(stack: MultiDc, sender: Person, receiver: WsClient, conversationId: string, seconds: number): Promise<Samples> {
  const samples: Samples = { ack: [], delivered: [] };
  const startedAt = new Map<string, number>();
  const arrived = new Set<string>();
  const onFrame = (data: Buffer) => {
    const frame = JSON.parse(data.toString());
    const clientMsgId = frame.type === 'event' && frame.conversationId === conversationId ? frame.event?.data?.clientMsgId : undefined;
    const at = clientMsgId && startedAt.get(clientMsgId);
    if (at && !arrived.has(clientMsgId)) {
      arrived.add(clientMsgId);
      samples.delivered.push(performance.now() - at);
    }
  };
  receiver.socket.on('message', onFrame);
  const sends: Promise<void>[] = [];
  const total = seconds * RATE_PER_SECOND;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE_PER_SECOND;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    const clientMsgId = randomUUID();
    startedAt.set(clientMsgId, performance.now());
    sends.push(
      sendOnce(stack, sender, conversationId, `m${i}`, clientMsgId).then(() => {
        samples.ack.push(performance.now() - startedAt.get(clientMsgId)!);
      }),
    );
  }
  await Promise.all(sends);
  await receiver.until(() => arrived.size === total, `all ${total} messages at the receiver`);
  receiver.socket.off('message', onFrame);
  return samples;
}

/**
 * A send, retried with its clientMsgId when the connection failed (a kept-alive socket the server
 * had just closed): the server stores it once whichever attempt reached it.
 */
async function sendOnce(stack: MultiDc, sender: Person, conversationId: string, text: string, clientMsgId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await stack.dc[sender.dc].api.send(sender, conversationId, text, clientMsgId);
      if (res.status !== 201 && res.status !== 200) throw new Error(`send answered ${res.status} ${JSON.stringify(res.body)}`);
      return;
    } catch (error) {
      if (attempt >= 3 || !(error instanceof TypeError)) throw error;
    }
  }
}

async function typingLatency(from: WsClient, to: WsClient, conversationId: string, samples: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const typing = i % 2 === 0;
    const seen = to.frames.length;
    const t0 = performance.now();
    from.send({ type: 'typing', conversationId, typing });
    await to.until((frames) => frames.slice(seen).some((f) => f.type === 'typing' && f.conversationId === conversationId && f.typing === typing));
    latencies.push(performance.now() - t0);
  }
  return latencies;
}
