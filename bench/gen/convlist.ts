import { params, report } from '../lib/child.js';

/** Sequential `GET /v1/conversations` requests for one user; latency is the full HTTP round trip. */
interface Params {
  url: string;
  token: string;
  warmup: number;
  requests: number;
}

const p = params<Params>();

async function once(): Promise<{ ms: number; items: number }> {
  const t0 = performance.now();
  const res = await fetch(`${p.url}/v1/conversations`, { headers: { authorization: `Bearer ${p.token}` } });
  const body = (await res.json()) as { items?: unknown[] } | unknown[];
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`GET /v1/conversations: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
  const items = Array.isArray(body) ? body : (body.items ?? []);
  return { ms, items: items.length };
}

async function main(): Promise<void> {
  for (let i = 0; i < p.warmup; i++) await once();
  const latencies: number[] = [];
  let items = 0;
  const t0 = performance.now();
  for (let i = 0; i < p.requests; i++) {
    const r = await once();
    latencies.push(r.ms);
    items = r.items;
  }
  await report('result', { latencies, itemsPerPage: items, seconds: (performance.now() - t0) / 1000 });
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
