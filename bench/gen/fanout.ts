import WebSocket from 'ws';
import { params, pool, report, sleep } from '../lib/child.js';
import { Histogram } from '../lib/stats.js';

/**
 * Load generator for group fan-out, the same closed loop against three targets:
 * - `chat`: our server; a member's socket sends `send` frames, every member socket receives the event;
 * - `centrifugo`: messages are published through its HTTP server API, members subscribe to a channel per group;
 * - `ws`: the bare ws broadcast reference; a member's socket sends, the server rebroadcasts to the group.
 * Each group keeps `window` messages in flight; a message is complete when every member socket
 * of its group has it, which frees its slot for the next one.
 */
interface Params {
  target: 'chat' | 'centrifugo' | 'ws';
  /** chat: ws URL of the gateway; centrifugo: its ws endpoint; ws: the reference server. */
  wsUrl: string;
  /** centrifugo only. */
  apiUrl?: string;
  apiKey?: string;
  groups: { id: string; tokens: string[] }[];
  window: number;
  warmupMs: number;
  durationMs: number;
  /** Index of the first group in the whole run (markers stay unique across generator processes). */
  groupBase: number;
}

const p = params<Params>();
const MARK = /b:(\d+):(\d+)/g;

interface Group {
  index: number;
  id: string;
  sockets: WebSocket[];
  k: number;
  sentAt: Map<number, number>;
  remaining: Map<number, number>;
}

const hist = new Histogram();
let measuring = false;
let stopped = false;
let deliveries = 0;
let completed = 0;
let published = 0;
let errors = 0;
const groups = new Map<number, Group>();

function onFrame(frame: string): void {
  const now = performance.now();
  MARK.lastIndex = 0;
  for (let m = MARK.exec(frame); m; m = MARK.exec(frame)) {
    const g = groups.get(Number(m[1]));
    if (!g) continue;
    const k = Number(m[2]);
    const sentAt = g.sentAt.get(k);
    if (sentAt === undefined) continue;
    if (measuring) {
      deliveries++;
      hist.add(now - sentAt);
    }
    const left = g.remaining.get(k)! - 1;
    if (left > 0) {
      g.remaining.set(k, left);
      continue;
    }
    g.remaining.delete(k);
    g.sentAt.delete(k);
    if (measuring) completed++;
    if (!stopped) publish(g);
  }
}

function publish(g: Group): void {
  const k = g.k++;
  const marker = `b:${g.index}:${k}`;
  g.sentAt.set(k, performance.now());
  g.remaining.set(k, g.sockets.length);
  if (measuring) published++;
  switch (p.target) {
    case 'chat':
      g.sockets[0]!.send(`{"type":"send","ref":"${k}","conversationId":"${g.id}","clientMsgId":"c-${g.index}-${k}","text":"${marker}"}`);
      return;
    case 'ws':
      g.sockets[0]!.send(marker);
      return;
    case 'centrifugo':
      fetch(p.apiUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': p.apiKey! },
        body: JSON.stringify({ channel: g.id, data: { text: marker } }),
      }).then(
        async (res) => {
          const body = await res.text();
          if (!res.ok || body.includes('"error"')) failed(`publish: ${res.status} ${body.slice(0, 200)}`);
        },
        (err) => failed(`publish: ${err}`),
      );
  }
}

function failed(message: string): void {
  if (errors++ < 5) process.stderr.write(`${message}\n`);
}

function connectChat(token: string): Promise<WebSocket> {
  return open(`${p.wsUrl}?token=${encodeURIComponent(token)}`, (ws, data) => {
    if (data.startsWith('{"type":"error"')) failed(data.slice(0, 200));
    else onFrame(data);
  });
}

function connectWs(groupId: string): Promise<WebSocket> {
  return open(`${p.wsUrl}?group=${encodeURIComponent(groupId)}`, (_ws, data) => onFrame(data));
}

/** Centrifugo's JSON client protocol: `connect` with a JWT, then `subscribe`; a `{}` ping is answered with `{}`. */
async function connectCentrifugo(token: string, channel: string): Promise<WebSocket> {
  const replies = new Map<number, (reply: any) => void>();
  const ws = await open(p.wsUrl, (socket, data) => {
    if (data.includes('b:')) return onFrame(data);
    for (const line of data.split('\n')) {
      if (line === '{}') {
        socket.send('{}');
        continue;
      }
      const reply = JSON.parse(line);
      if (reply.id) replies.get(reply.id)?.(reply);
    }
  });
  const call = (id: number, command: Record<string, unknown>) =>
    new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`centrifugo command ${id} timed out`)), 30_000);
      replies.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.error) reject(new Error(`centrifugo: ${JSON.stringify(reply.error)}`));
        else resolve(reply);
      });
      ws.send(JSON.stringify({ id, ...command }));
    });
  await call(1, { connect: { token, name: 'bench' } });
  await call(2, { subscribe: { channel } });
  return ws;
}

function open(url: string, onMessage: (ws: WebSocket, data: string) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.on('message', (data) => onMessage(ws, data.toString()));
  });
}

async function main(): Promise<void> {
  const jobs = p.groups.flatMap((g, gi) => g.tokens.map((token, mi) => ({ gi, mi, token, id: g.id })));
  p.groups.forEach((g, gi) => {
    const index = p.groupBase + gi;
    groups.set(index, { index, id: g.id, sockets: [], k: 0, sentAt: new Map(), remaining: new Map() });
  });
  await pool(jobs, 100, async (j) => {
    const ws =
      p.target === 'chat' ? await connectChat(j.token) : p.target === 'ws' ? await connectWs(j.id) : await connectCentrifugo(j.token, j.id);
    groups.get(p.groupBase + j.gi)!.sockets[j.mi] = ws;
  });
  await report('ready', { sockets: jobs.length });
  const start = performance.now();
  for (const g of groups.values()) for (let i = 0; i < p.window; i++) publish(g);
  await sleep(p.warmupMs);
  measuring = true;
  const measureFrom = performance.now();
  await sleep(p.durationMs);
  measuring = false;
  stopped = true;
  const seconds = (performance.now() - measureFrom) / 1000;
  let inFlight = 0;
  for (const g of groups.values()) inFlight += g.remaining.size;
  await report('result', {
    sockets: jobs.length,
    seconds,
    warmupSeconds: (measureFrom - start) / 1000,
    published,
    completed,
    deliveries,
    inFlightAtEnd: inFlight,
    errors,
    histogram: hist.toJSON(),
  });
  for (const g of groups.values()) for (const s of g.sockets) s.terminate();
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
