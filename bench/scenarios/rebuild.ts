import { spawnNode } from '../lib/proc.js';
import { atLeast } from '../lib/table.js';
import { profileArgs, type Scenario } from './types.js';

/** Projection rebuild of every projection from position 0 over a seeded event store. */
export const rebuild: Scenario = async (options, dir) => {
  const events = Math.floor(options.clients ?? (options.quick ? 50_000 : 1_000_000));
  const nodeArgs = ['--max-old-space-size=4096', ...profileArgs(options, 'rebuild')];
  const child = spawnNode('rebuild', 'bench/gen/rebuild.ts', { params: { dataDir: dir, events }, nodeArgs });
  try {
    const seeded = await child.next('seeded', 1_800_000);
    process.stderr.write(`rebuild: seeded ${seeded.events} events in ${seeded.seconds.toFixed(1)} s\n`);
    const r = await child.next('result', 1_800_000);
    return {
      rows: [
        {
          scenario: 'rebuild',
          metric: `events/s rebuilding ${r.events.toLocaleString('en-US')} events`,
          value: r.eventsPerSec,
          unit: 'events/s',
          ...atLeast(r.eventsPerSec, 50_000),
          note: `all projections, ${r.seconds.toFixed(1)} s`,
        },
      ],
      details: r,
    };
  } finally {
    await child.stop(10_000, 30_000);
  }
};
