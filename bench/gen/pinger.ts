import WebSocket from 'ws';
import { params, report } from '../lib/child.js';

/** Sequential WebSocket pings from one client; latency is the round trip to its pong. */
interface Params {
  wsUrl: string;
  token: string;
  warmup: number;
  pings: number;
}

const p = params<Params>();
const ws = new WebSocket(`${p.wsUrl}?token=${encodeURIComponent(p.token)}`, { perMessageDeflate: false });
const pongs = new Map<string, () => void>();
ws.on('message', (data) => {
  const frame = JSON.parse(data.toString()) as { type: string; ref?: string };
  if (frame.type === 'pong' && frame.ref) pongs.get(frame.ref)?.();
});
await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));

const roundTrip = (ref: string) =>
  new Promise<number>((resolve) => {
    const t0 = performance.now();
    pongs.set(ref, () => resolve(performance.now() - t0));
    ws.send(JSON.stringify({ type: 'ping', ref }));
  });

for (let i = 0; i < p.warmup; i++) await roundTrip(`w${i}`);
const latencies: number[] = [];
for (let i = 0; i < p.pings; i++) latencies.push(await roundTrip(`p${i}`));
ws.close();
await report('result', { latencies });
process.exit(0);
