import { startChatServer, spawnNode, type ChatServer } from '../lib/proc.js';
import { Seeder } from '../lib/seed.js';
import { Histogram } from '../lib/stats.js';
import { atLeast, atMost, type Row } from '../lib/table.js';
import { profileArgs, split, type Options, type Scenario } from './types.js';

const OFFERED_RATE = 5000;

interface PhaseResult {
  sendsPerSec: number;
  offeredPerSec: number | null;
  p50: number | null;
  p99: number | null;
  sent: number;
  received: number;
  errors: number;
  clients: number;
}

/** 1:1 sends over WebSocket: a fixed offered load of 5,000 msg/s, then the closed-loop saturation point. */
export const direct: Scenario = async (options, dir) => {
  const { pairs, seconds, warmupMs } = pairLoadSize(options);
  const seeder = new Seeder(dir);
  const fixtures = await seedPairs(seeder, pairs);
  seeder.close();
  const server = await startChatServer(dir, { nodeArgs: profileArgs(options, 'direct') });
  try {
    const rate = await phase(server, fixtures, options.genProcs, { mode: 'rate', rate: OFFERED_RATE, window: 0, warmupMs, durationMs: seconds * 1000 });
    const sat = await phase(server, fixtures, options.genProcs, { mode: 'saturate', rate: 0, window: 8, warmupMs, durationMs: seconds * 1000 });
    const clients = `${pairs * 2} clients`;
    const rows: Row[] = [
      { scenario: '1:1', metric: `durable sends/s at ${OFFERED_RATE} msg/s offered`, value: rate.sendsPerSec, unit: 'msg/s', note: clients },
      { scenario: '1:1', metric: `send->receive p50 at ${OFFERED_RATE} msg/s`, value: rate.p50, unit: 'ms' },
      { scenario: '1:1', metric: `send->receive p99 at ${OFFERED_RATE} msg/s`, value: rate.p99, unit: 'ms', ...atMost(rate.p99, 25) },
      { scenario: '1:1', metric: 'durable sends/s at saturation', value: sat.sendsPerSec, unit: 'msg/s', ...atLeast(sat.sendsPerSec, 10_000), note: `${clients}, 8 unacked per client` },
      { scenario: '1:1', metric: 'send->receive p50 at saturation', value: sat.p50, unit: 'ms' },
      { scenario: '1:1', metric: 'send->receive p99 at saturation', value: sat.p99, unit: 'ms' },
    ];
    return { rows, details: { pairs, seconds, rate, saturation: sat } };
  } finally {
    await server.stop();
  }
};

/** Pairs of clients, measured seconds and warm-up of each phase, from --clients, --duration and --quick. */
export function pairLoadSize(options: Options): { pairs: number; seconds: number; warmupMs: number } {
  return {
    pairs: Math.max(1, Math.floor((options.clients ?? (options.quick ? 100 : 200)) / 2)),
    seconds: options.durationSec ?? (options.quick ? 3 : 15),
    warmupMs: options.quick ? 500 : 3000,
  };
}

/** Two users with tokens and their direct conversation. */
export interface PairFixture {
  conversationId: string;
  a: string;
  b: string;
}

export async function seedPairs(seeder: Seeder, pairs: number): Promise<PairFixture[]> {
  const users = await seeder.users(pairs * 2, 'd');
  const fixtures: PairFixture[] = [];
  for (let i = 0; i < pairs; i++) {
    const a = users[2 * i]!;
    const b = users[2 * i + 1]!;
    fixtures.push({ conversationId: await seeder.direct(a, b), a: a.token, b: b.token });
  }
  return fixtures;
}

/** One load phase of the 1:1 generator (bench/gen/direct.ts) against `server`, split over `procs` processes. */
export async function phase(
  server: ChatServer,
  fixtures: PairFixture[],
  procs: number,
  load: { mode: 'rate' | 'saturate'; rate: number; window: number; warmupMs: number; durationMs: number },
): Promise<PhaseResult> {
  const slices = split(fixtures, procs);
  const gens = slices.map((pairs, i) =>
    spawnNode(`direct-gen${i}`, 'bench/gen/direct.ts', {
      params: { wsUrl: server.wsUrl, pairs, ...load, rate: load.rate / slices.length },
    }),
  );
  const results = await Promise.all(gens.map((g) => g.next('result', load.warmupMs + load.durationMs + 120_000)));
  const latencies = new Histogram();
  for (const r of results) latencies.merge(r.histogram);
  const seconds = Math.max(...results.map((r) => r.seconds as number));
  const sum = (k: string) => results.reduce((n, r) => n + (r[k] as number), 0);
  return {
    sendsPerSec: sum('acks') / seconds,
    offeredPerSec: load.mode === 'rate' ? load.rate : null,
    p50: latencies.percentile(50),
    p99: latencies.percentile(99),
    sent: sum('sent'),
    received: sum('received'),
    errors: sum('errors'),
    clients: sum('clients'),
  };
}
