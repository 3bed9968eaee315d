import { randomUUID } from 'node:crypto';
import { centrifugoToken, ensureCentrifugo, startCentrifugo } from '../refs/centrifugo.js';
import { freePort, spawnNode, startChatServer, type Child } from '../lib/proc.js';
import { Seeder } from '../lib/seed.js';
import { Histogram } from '../lib/stats.js';
import { atLeast, type Row } from '../lib/table.js';
import { profileArgs, split, type Options, type Scenario } from './types.js';

const GROUP_SIZE = 100;
const WINDOW = 4;

type Target = 'chat' | 'centrifugo' | 'ws';

interface TargetResult {
  messagesPerSec: number;
  deliveriesPerSec: number;
  p50: number | null;
  p99: number | null;
  sockets: number;
  errors: number;
}

/**
 * Group fan-out, side by side: our server, Centrifugo and a bare ws broadcast server, one after
 * another in the same run with the same groups, client count and closed loop.
 */
export const fanout: Scenario = async (options, dir) => {
  const clients = options.clients ?? (options.quick ? 500 : 1000);
  const groupCount = Math.max(1, Math.floor(clients / GROUP_SIZE));
  const seconds = options.durationSec ?? (options.quick ? 3 : 15);
  const load = { window: WINDOW, warmupMs: options.quick ? 500 : 3000, durationMs: seconds * 1000 };
  const results: Partial<Record<Target, TargetResult>> = {};
  let centrifugoMissing: string | null = null;

  // Ours.
  const seeder = new Seeder(dir);
  const users = await seeder.users(groupCount * GROUP_SIZE, 'f');
  const chatGroups: { id: string; tokens: string[] }[] = [];
  for (let g = 0; g < groupCount; g++) {
    const members = users.slice(g * GROUP_SIZE, (g + 1) * GROUP_SIZE);
    chatGroups.push({ id: await seeder.group(members[0]!, members, `bench ${g}`), tokens: members.map((m) => m.token) });
  }
  seeder.close();
  const server = await startChatServer(dir, { nodeArgs: profileArgs(options, 'fanout') });
  try {
    results.chat = await run('chat', { wsUrl: server.wsUrl }, chatGroups, options, load);
  } finally {
    await server.stop();
  }

  // Centrifugo: same client count, one channel per group, published through its server API.
  centrifugoMissing = ensureCentrifugo();
  if (!centrifugoMissing) {
    const centrifugo = await startCentrifugo(dir);
    try {
      const groups = await Promise.all(
        chatGroups.map(async (g, i) => ({
          id: `group${i}`,
          tokens: await Promise.all(g.tokens.map(() => centrifugoToken(randomUUID()))),
        })),
      );
      results.centrifugo = await run('centrifugo', { wsUrl: centrifugo.wsUrl, apiUrl: centrifugo.apiUrl, apiKey: centrifugo.apiKey }, groups, options, load);
    } finally {
      await centrifugo.stop();
    }
  }

  // The bare ws broadcast reference.
  const port = await freePort();
  const ref = spawnNode('ws-ref', 'bench/refs/wsBroadcast.ts', { params: { port } });
  try {
    await ref.next('listening', 30_000);
    const groups = chatGroups.map((g, i) => ({ id: `group${i}`, tokens: g.tokens }));
    results.ws = await run('ws', { wsUrl: `ws://127.0.0.1:${port}/` }, groups, options, load);
  } finally {
    await ref.stop();
  }

  const c = results.chat!;
  const note = `${groupCount} groups x ${GROUP_SIZE}, ${WINDOW} msgs in flight per group`;
  const ratio = (x: TargetResult | undefined) => (x ? c.deliveriesPerSec / x.deliveriesPerSec : null);
  const rows: Row[] = [
    { scenario: 'fan-out', metric: 'messages/s (ours)', value: c.messagesPerSec, unit: 'msg/s', note },
    { scenario: 'fan-out', metric: 'deliveries/s (ours)', value: c.deliveriesPerSec, unit: 'deliv/s' },
    { scenario: 'fan-out', metric: 'delivery latency p99 (ours)', value: c.p99, unit: 'ms', note: 'send -> member socket, at saturation' },
    {
      scenario: 'fan-out',
      metric: 'deliveries/s (Centrifugo)',
      value: results.centrifugo?.deliveriesPerSec ?? null,
      unit: 'deliv/s',
      note: centrifugoMissing ?? 'v5.4.9, server API publish',
    },
    { scenario: 'fan-out', metric: 'delivery latency p99 (Centrifugo)', value: results.centrifugo?.p99 ?? null, unit: 'ms' },
    {
      scenario: 'fan-out',
      metric: 'ours / Centrifugo deliveries/s',
      value: ratio(results.centrifugo),
      unit: 'x',
      ...atLeast(ratio(results.centrifugo), 0.5),
    },
    { scenario: 'fan-out', metric: 'deliveries/s (bare ws broadcast)', value: results.ws?.deliveriesPerSec ?? null, unit: 'deliv/s', note: 'no auth, no persistence' },
    { scenario: 'fan-out', metric: 'delivery latency p99 (bare ws)', value: results.ws?.p99 ?? null, unit: 'ms' },
    { scenario: 'fan-out', metric: 'ours / bare ws deliveries/s', value: ratio(results.ws), unit: 'x' },
  ];
  return { rows, details: { groups: groupCount, groupSize: GROUP_SIZE, seconds, results, centrifugoMissing } };
};

async function run(
  target: Target,
  endpoint: { wsUrl: string; apiUrl?: string; apiKey?: string },
  groups: { id: string; tokens: string[] }[],
  options: Options,
  load: { window: number; warmupMs: number; durationMs: number },
): Promise<TargetResult> {
  process.stderr.write(`fan-out against ${target} ...\n`);
  const slices = split(groups, options.genProcs);
  let base = 0;
  const gens: Child[] = slices.map((slice, i) => {
    const gen = spawnNode(`fanout-${target}-gen${i}`, 'bench/gen/fanout.ts', {
      params: { target, ...endpoint, groups: slice, groupBase: base, ...load },
    });
    base += slice.length;
    return gen;
  });
  const results = await Promise.all(gens.map((g) => g.next('result', load.warmupMs + load.durationMs + 180_000)));
  const hist = new Histogram();
  for (const r of results) hist.merge(r.histogram);
  const seconds = Math.max(...results.map((r) => r.seconds as number));
  const sum = (k: string) => results.reduce((n, r) => n + (r[k] as number), 0);
  const out = {
    messagesPerSec: sum('completed') / seconds,
    deliveriesPerSec: sum('deliveries') / seconds,
    p50: hist.percentile(50),
    p99: hist.percentile(99),
    sockets: sum('sockets'),
    errors: sum('errors'),
  };
  process.stderr.write(`  ${target}: ${Math.round(out.deliveriesPerSec)} deliveries/s, p99 ${out.p99} ms, ${out.errors} errors\n`);
  return out;
}
