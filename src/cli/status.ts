import Table from 'cli-table3';
import { Command } from 'commander';
import { pino } from 'pino';
import type { Config } from '../config.js';
import { checkpointLags, describeLagEvents, type CheckpointLag } from '../projections/lag.js';
import { createKafka } from '../replication/kafka.js';
import { syncLagEvents } from '../replication/lag.js';
import type { HaltedStream, ReplicationStatusStore, SourceProgress } from '../replication/replicationStatus.js';
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
  /** With other datacenters (DC_PEERS): how far their events are applied here, and halted streams. */
  replication?: ReplicationReport;
}

interface ReplicationReport {
  sources: (SourceProgress & { lagEvents: number | null; lagSeconds: number })[];
  /** Why the Kafka lag is missing, when it is. */
  kafkaError?: string;
  halted: HaltedStream[];
}

export const statusCommand = () =>
  new Command('status')
    .description('Every projection and consumer with its checkpoint and lag behind the head, and the stored events per type')
    .option('--json', 'print JSON instead of tables')
    .action(async ({ json }: { json?: boolean }) => {
      const report = await withStores(async ({ store, readStore, stats, replicationStatus, config }) => {
        const { head, lags } = await checkpointLags(store, await readStore.checkpoints(), { countLimit: STATUS_LAG_COUNT_LIMIT });
        // Counting by type needs a scan only the SQLite event store offers; elsewhere the table is empty.
        const eventCounts = stats ? await stats.countByType() : {};
        const totalEvents = Object.values(eventCounts).reduce((a, b) => a + b, 0);
        const replication = config.DC_PEERS.size > 0 ? await replicationReport(replicationStatus, config) : undefined;
        return { head, checkpoints: lags, eventCounts, totalEvents, replication };
      });
      process.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : renderStatus(report));
    });

async function replicationReport(status: ReplicationStatusStore, config: Config): Promise<ReplicationReport> {
  const sources = [...config.DC_PEERS.keys()];
  let lagEvents: Record<string, number> = {};
  let kafkaError: string | undefined;
  try {
    // Few retries: an operator waiting on an unreachable Kafka wants the rest of the report.
    const kafka = createKafka(config.KAFKA_BROKERS!, `im-status-${config.DC_ID}`, pino({ level: 'silent' }), 1);
    lagEvents = await syncLagEvents(kafka, config.DC_ID, sources);
  } catch (error) {
    kafkaError = `Kafka lag unknown: ${(error as Error).message}`;
  }
  const progress = new Map((await status.sources()).map((p) => [p.sourceDc, p]));
  return {
    sources: sources.map((sourceDc) => {
      const p = progress.get(sourceDc) ?? { sourceDc, lastEventAt: '', appliedAt: '' };
      const lagSeconds = p.lastEventAt ? (Date.parse(p.appliedAt) - Date.parse(p.lastEventAt)) / 1000 : 0;
      return { ...p, lagEvents: lagEvents[sourceDc] ?? null, lagSeconds };
    }),
    ...(kafkaError ? { kafkaError } : {}),
    halted: await status.halted(),
  };
}

function renderReplication({ sources, kafkaError, halted }: ReplicationReport): string {
  const table = new Table({ head: ['from datacenter', 'lag (events)', 'lag (s)', 'last event written', 'applied here'], style: plain });
  for (const s of sources) table.push([s.sourceDc, s.lagEvents ?? '?', s.lagSeconds.toFixed(1), s.lastEventAt || 'none yet', s.appliedAt || '']);
  const lines = [table.toString()];
  if (kafkaError) lines.push(kafkaError);
  if (halted.length === 0) lines.push('halted streams: none');
  else {
    const stopped = new Table({ head: ['halted stream', 'revision', 'from', 'reason', 'event', 'found here', 'since'], style: plain });
    for (const h of halted) stopped.push([h.streamId, h.revision, h.sourceDc, h.reason, h.eventId, h.foundEventId ?? '', h.at]);
    lines.push(stopped.toString());
  }
  return lines.join('\n') + '\n';
}

export function renderStatus({ head, checkpoints, eventCounts, totalEvents, replication }: StatusReport): string {
  const lags = new Table({ head: ['checkpoint', 'kind', 'position', 'lag (events)', 'lag (s)'], style: plain });
  for (const c of checkpoints) lags.push([c.name, c.kind, c.position, describeLagEvents(c), c.lagSeconds.toFixed(1)]);
  const counts = new Table({ head: ['event type', 'count'], style: plain });
  for (const [type, n] of Object.entries(eventCounts)) counts.push([type, n]);
  counts.push(['total', totalEvents]);
  return `head position: ${head}\n${lags.toString()}\n${counts.toString()}\n${replication ? renderReplication(replication) : ''}`;
}
