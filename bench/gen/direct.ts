import WebSocket from 'ws';
import { params, pool, report, sleep } from '../lib/child.js';
import { Histogram } from '../lib/stats.js';

/**
 * Load generator for 1:1 sends. Both members of every pair send to each other over their own
 * socket; the other member's socket timestamps the event. `rate` mode offers a fixed total rate
 * (latency is measured from the *intended* send time, so a stalled server cannot hide queueing);
 * `saturate` mode keeps `window` unacknowledged sends per client (closed loop) to find the ceiling.
 */
interface Params {
  wsUrl: string;
  pairs: { conversationId: string; a: string; b: string }[];
  mode: 'rate' | 'saturate';
  rate: number;
  window: number;
  warmupMs: number;
  durationMs: number;
}

const p = params<Params>();
const MARK = /"text":"b:(\d+):(\d+)"/;

interface Client {
  ws: WebSocket;
  slot: number;
  conversationId: string;
  sentAt: number[];
  k: number;
  inFlight: number;
}

const clients: Client[] = [];
let measuring = false;
let stopped = false;
let acks = 0;
let errors = 0;
let sentInWindow = 0;
let receivedInWindow = 0;
const latencies = new Histogram();

function connect(token: string, conversationId: string, slot: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${p.wsUrl}?token=${encodeURIComponent(token)}`, { perMessageDeflate: false });
    const client: Client = { ws, slot, conversationId, sentAt: [], k: 0, inFlight: 0 };
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
    ws.on('message', (data) => onFrame(client, data.toString()));
  });
}

function onFrame(client: Client, frame: string): void {
  const now = performance.now();
  if (frame.startsWith('{"type":"ack"')) {
    client.inFlight--;
    if (measuring) acks++;
    if (p.mode === 'saturate' && !stopped) send(client);
    return;
  }
  if (frame.startsWith('{"type":"error"')) {
    errors++;
    client.inFlight--;
    return;
  }
  const m = MARK.exec(frame);
  if (!m) return;
  const fromSlot = Number(m[1]);
  if (fromSlot === client.slot) return; // the sender's own echo
  const sentAt = clients[fromSlot]!.sentAt[Number(m[2])];
  if (sentAt === undefined || sentAt < measureStart) return;
  receivedInWindow++;
  latencies.add(now - sentAt);
}

let measureStart = Number.POSITIVE_INFINITY;

function send(client: Client, intendedAt = performance.now()): void {
  const k = client.k++;
  client.sentAt[k] = intendedAt;
  client.inFlight++;
  if (intendedAt >= measureStart && !stopped) sentInWindow++;
  client.ws.send(
    `{"type":"send","ref":"${k}","conversationId":"${client.conversationId}","clientMsgId":"${client.slot}-${k}-${process.pid}","text":"b:${client.slot}:${k}"}`,
  );
}

async function main(): Promise<void> {
  const entries = p.pairs.flatMap((pair) => [
    { token: pair.a, conversationId: pair.conversationId },
    { token: pair.b, conversationId: pair.conversationId },
  ]);
  await pool(entries, 200, async (e, i) => {
    clients[i] = await connect(e.token, e.conversationId, i);
  });
  await report('ready', { clients: clients.length });
  const start = performance.now();
  const measureFrom = start + p.warmupMs;
  const end = measureFrom + p.durationMs;
  setTimeout(() => {
    measureStart = measureFrom;
    measuring = true;
  }, p.warmupMs);
  if (p.mode === 'saturate') {
    for (const c of clients) for (let i = 0; i < p.window; i++) send(c);
    await sleep(end - performance.now());
  } else {
    // Open loop: message n is due at start + n / rate, round-robin over the clients.
    let n = 0;
    const interval = 1000 / p.rate;
    while (performance.now() < end) {
      const now = performance.now();
      while (start + n * interval <= now) {
        send(clients[n % clients.length]!, start + n * interval);
        n++;
      }
      await sleep(1);
    }
  }
  const elapsed = performance.now() - measureFrom;
  measuring = false;
  stopped = true;
  const acksInWindow = acks;
  // Let what was sent inside the window arrive (bounded), so a slow tail is counted, not dropped.
  const drainUntil = performance.now() + 5000;
  while (receivedInWindow < sentInWindow && performance.now() < drainUntil) await sleep(20);
  await report('result', {
    clients: clients.length,
    seconds: elapsed / 1000,
    acks: acksInWindow,
    sent: sentInWindow,
    received: receivedInWindow,
    errors,
    histogram: latencies.toJSON(),
  });
  for (const c of clients) c.ws.terminate();
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
