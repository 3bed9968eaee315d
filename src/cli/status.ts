import Table from 'cli-table3';
import { Command } from 'commander';
import { checkpointLags, describeLagEvents, type CheckpointLag } from '../projections/lag.js';
import { plain, withStores } from './context.js';

/**
 * An operator asks once, so `im status` counts further behind a checkpoint than the gauges do; on
 * EventStoreDB counting reads the events, so the count still stops somewhere.
 */
const STATUS_LAG_COUNT_LIMIT = 100_000;

export interface StatusReport {
  head: number;
  checkpoints: CheckpointLag[];
  eventCounts: Record<string, number>;
  totalEvents: number;
}

export const statusCommand = () =>
  new Command('status')
    .description('Every projection and consumer with its checkpoint and lag behind the head, and the stored events per type')
    .option('--json', 'print JSON instead of tables')
    .action(async ({ json }: { json?: boolean }) => {
      const report = await withStores(async ({ store, readStore, stats }) => {
        const { head, lags } = await checkpointLags(store, await readStore.checkpoints(), { countLimit: STATUS_LAG_COUNT_LIMIT });
        // Counting by type needs a scan only the SQLite event store offers; elsewhere the table is empty.
        const eventCounts = stats ? await stats.countByType() : {};
        const totalEvents = Object.values(eventCounts).reduce((a, b) => a + b, 0);
        return { head, checkpoints: lags, eventCounts, totalEvents };
      });
      process.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : renderStatus(report));
    });

export function renderStatus({ head, checkpoints, eventCounts, totalEvents }: StatusReport): string {
  const lags = new Table({ head: ['checkpoint', 'kind', 'position', 'lag (events)', 'lag (s)'], style: plain });
  for (const c of checkpoints) lags.push([c.name, c.kind, c.position, describeLagEvents(c), c.lagSeconds.toFixed(1)]);
  const counts = new Table({ head: ['event type', 'count'], style: plain });
  for (const [type, n] of Object.entries(eventCounts)) counts.push([type, n]);
  counts.push(['total', totalEvents]);
  return `head position: ${head}\n${lags.toString()}\n${counts.toString()}\n`;
}
