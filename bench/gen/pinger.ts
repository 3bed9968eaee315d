import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { params, report } from '../lib/child.js';

/**
 * Sequential WebSocket pings from one client; latency is the round trip to its pong. Each ping
 * starts `intervalMs` after the one before at the earliest: the calm client stays inside its own
 * frame budget, so every ping is answered and what is measured is the flood's effect on it.
 */
interface Params {
  wsUrl: string;
  token: string;
  warmup: number;
  pings: number;
  intervalMs: number;
}

const p = params<Params>();
const ws = new WebSocket(`${p.wsUrl}?token=${encodeURIComponent(p.token)}`, { perMessageDeflate: false });
const pongs = new Map<string, () => void>();
ws.on('message', (data) => {
  const frame = JSON.parse(data.toString()) as { type: string; ref?: string };
  if (frame.type === 'pong' && frame.ref) pongs.get(frame.ref)?.();
});
await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));

const roundTrip = async (ref: string) => {
  const started = performance.now();
  const latency = await new Promise<number>((resolve) => {
    pongs.set(ref, () => resolve(performance.now() - started));
    ws.send(JSON.stringify({ type: 'ping', ref }));
  });
  await sleep(Math.max(0, started + p.intervalMs - performance.now()));
  return latency;
};

for (let i = 0; i < p.warmup; i++) await roundTrip(`w${i}`);
const latencies: number[] = [];
for (let i = 0; i < p.pings; i++) latencies.push(await roundTrip(`p${i}`));
ws.close();
await report('result', { latencies });
process.exit(0);
