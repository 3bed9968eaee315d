/**
 * Crash consistency: clients send over WebSocket and REST, retrying every unacked send with the
 * same clientMsgId, while the real server process is killed with SIGKILL at random moments and
 * restarted on the same DATA_DIR. After each restart every acked message must be stored exactly
 * once at its acked seq, timelines must be gap-free, and the read models must equal a rebuild.
 *
 *   npm run test:crash -- --crashes 50 [--seed 42]
 */
import type { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ApiClient } from '../support/client.js';
import { freePort, killHard, startProcess } from '../support/process.js';
import { tempDir } from '../support/tmp.js';
import { RestSender, WsSender, type Outgoing, type Sender } from './senders.js';
import { checkProjections, checkTimelines, type AckedMessage } from './verify.js';

const args = z
  .object({
    crashes: z.coerce.number().int().min(1).default(50),
    seed: z.coerce.number().int().default(() => Date.now() % 1_000_000),
  })
  .parse(parseArgs({ options: { crashes: { type: 'string' }, seed: { type: 'string' } } }).values);

/** Small enough that the five-member group is pull mode, so both inbox modes are crashed. */
const PULL_THRESHOLD = 3;
/** Sends in flight per client: the server is killed with several appends pending. */
const WINDOW = 4;
const SERVER_ENV = {
  INBOX_PULL_THRESHOLD: String(PULL_THRESHOLD),
  // The driver sends as fast as the server acks: rate limits are not what this test is about.
  SEND_RATE_PER_USER: '1000000',
  SEND_RATE_PER_IP: '1000000',
  WS_FRAME_RATE: '1000000',
  WS_FRAME_BURST: '1000000',
};

/** mulberry32: a seeded generator, so a failing run can be repeated with --seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(args.seed);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Client {
  name: string;
  userId: string;
  sender: Sender;
  conversations: string[];
  retry: Outgoing[];
  sent: number;
  inFlight: number;
}

const acked = new Map<string, AckedMessage>();
const keyOf = (m: { conversationId: string; clientMsgId: string }, senderId: string) => `${m.conversationId}/${senderId}/${m.clientMsgId}`;
let acceptNew = true;
let stopped = false;
let ackMismatches = 0;

function record(client: Client, m: Outgoing, ack: { messageId: string; seq: number }): void {
  const key = keyOf(m, client.userId);
  const earlier = acked.get(key);
  if (earlier && (earlier.seq !== ack.seq || earlier.messageId !== ack.messageId)) {
    ackMismatches++;
    console.error(`retry of acked ${key} answered seq ${ack.seq} (${ack.messageId}), first ack was seq ${earlier.seq} (${earlier.messageId})`);
  }
  if (!earlier) acked.set(key, { ...m, ...ack, senderId: client.userId });
}

/** One of WINDOW loops per client: unacked sends go back to the retry queue, first in line. */
async function pump(client: Client): Promise<void> {
  while (!stopped) {
    const retrying = client.retry.shift();
    let message = retrying;
    if (!message && acceptNew) {
      const n = client.sent++;
      message = { conversationId: client.conversations[n % client.conversations.length]!, clientMsgId: `${client.name}-${n}`, text: `${client.name} #${n}` };
    }
    if (!message) {
      await sleep(10);
      continue;
    }
    client.inFlight++;
    try {
      record(client, message, await client.sender.send(message));
    } catch {
      client.retry.push(message);
      await sleep(20 + rand() * 80);
    } finally {
      client.inFlight--;
    }
  }
}

/** Stops new sends and waits until every unacked one has been retried into an ack. */
async function drain(clients: Client[]): Promise<void> {
  acceptNew = false;
  const deadline = Date.now() + 60_000;
  while (clients.some((c) => c.retry.length > 0 || c.inFlight > 0)) {
    if (Date.now() > deadline) throw new Error('unacked sends still pending after 60 s');
    await sleep(20);
  }
}

async function main(): Promise<void> {
  const tmp = tempDir('chat-crash-');
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const api = new ApiClient(baseUrl);
  let child: ChildProcess = await startProcess(tmp.dir, port, SERVER_ENV);
  const clients: Client[] = [];
  const totals = { crashes: 0, lost: 0, duplicated: 0, gaps: 0, mismatches: 0 };
  try {
    const users = await Promise.all(['ann', 'ben', 'cat', 'dan', 'eve'].map((n) => api.user(n)));
    const [ann, ben, cat, dan, eve] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0], (typeof users)[0], (typeof users)[0]];
    const everyone = await api.group(ann, [ben, cat, dan, eve], 'everyone (pull mode)');
    const small = await api.group(ben, [cat, dan], 'small');
    const direct = await api.direct(ann, eve);
    const readers = [
      { conversationId: everyone, token: ann.token },
      { conversationId: small, token: ben.token },
      { conversationId: direct, token: ann.token },
    ];
    const plan: [typeof ann, 'ws' | 'rest', string[]][] = [
      [ann, 'ws', [everyone, direct]],
      [ben, 'rest', [everyone, small]],
      [cat, 'ws', [small, everyone]],
      [dan, 'rest', [small]],
      [eve, 'ws', [direct, everyone]],
      [eve, 'rest', [everyone, direct]],
    ];
    plan.forEach(([user, via, conversations], i) => {
      const sender = via === 'ws' ? new WsSender(`ws://127.0.0.1:${port}/v1/ws`, user.token) : new RestSender(baseUrl, user.token);
      clients.push({ name: `c${i}-${via}`, userId: user.userId, sender, conversations, retry: [], sent: 0, inFlight: 0 });
    });
    const pumps = clients.flatMap((c) => Array.from({ length: WINDOW }, () => pump(c)));

    console.log(`crash test: ${args.crashes} crashes, seed ${args.seed}, DATA_DIR ${tmp.dir}`);
    for (let round = 1; round <= args.crashes; round++) {
      acceptNew = true;
      await sleep(200 + rand() * 1300);
      await killHard(child);
      totals.crashes++;
      child = await startProcess(tmp.dir, port, SERVER_ENV);
      await sleep(rand() * 300);
      await drain(clients);

      // Idempotency across the crash: resending a few acked messages must answer their first ack.
      const sample = [...acked.values()].sort(() => rand() - 0.5).slice(0, 5);
      for (const a of sample) {
        const client = clients.find((c) => c.userId === a.senderId && c.conversations.includes(a.conversationId))!;
        record(client, a, await new RestSender(baseUrl, users.find((u) => u.userId === a.senderId)!.token).send(a));
      }

      const timelines = await checkTimelines(api, readers, acked.values());
      const mismatched = await checkProjections(tmp.dir, PULL_THRESHOLD);
      totals.lost += timelines.lost;
      totals.duplicated += timelines.duplicated;
      totals.gaps += timelines.gaps;
      totals.mismatches += mismatched.length;
      for (const p of timelines.problems.slice(0, 10)) console.error(`  ${p}`);
      if (mismatched.length) console.error(`  read models differing from a rebuild: ${mismatched.join(', ')}`);
      console.log(
        `crash ${round}/${args.crashes}: ${acked.size} acked, lost ${timelines.lost}, duplicated ${timelines.duplicated}, gaps ${timelines.gaps}, projection mismatches ${mismatched.length}`,
      );
    }
    stopped = true;
    await Promise.all(pumps);
  } finally {
    stopped = true;
    for (const c of clients) c.sender.close();
    await killHard(child);
    tmp.remove();
  }
  totals.duplicated += ackMismatches;
  console.log(
    `crashes: ${totals.crashes}, acked messages: ${acked.size}, lost: ${totals.lost}, duplicated: ${totals.duplicated}, seq gaps: ${totals.gaps}, projection mismatches: ${totals.mismatches}`,
  );
  if (totals.lost + totals.duplicated + totals.gaps + totals.mismatches > 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
