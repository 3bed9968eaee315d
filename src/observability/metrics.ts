import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LAG_COUNT_LIMIT, type CheckpointLag } from '../projections/lag.js';

/**
 * The server's Prometheus metrics, on a registry the composition root creates and passes down
 * (no global registry: two servers in one process, as in the tests, keep their own numbers).
 */
export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  appendDuration: Histogram<'outcome'>;
  messagesSent: Counter;
  /** `$all` records the event feed passed over (a hard delete's tombstone, a system or unreadable record), by reason. */
  eventStoreRecordsSkipped: Counter<'reason'>;
  /** Counted per device token by the push worker. */
  pushOutcomes: Counter<'outcome'>;
  forwardedCommands: Counter<'outcome'>;
  replicationLagEvents: Gauge<'source_dc'>;
  replicationLagSeconds: Gauge<'source_dc'>;
  replicationApplied: Counter<'source_dc' | 'outcome'>;
}

/**
 * What became of a push to one device token. It ends in one of `sent`, `pruned`, `failed` or
 * `given_up`; `retried` counts each attempt after the first, made after a transient failure.
 */
const PUSH_OUTCOMES = ['sent', 'pruned', 'failed', 'retried', 'given_up'] as const;
export type PushOutcome = (typeof PUSH_OUTCOMES)[number];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route (the express path, not the raw URL) and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    appendDuration: new Histogram({
      name: 'chat_event_append_duration_seconds',
      help: 'Event store append duration, until the append is durable, by outcome (ok, conflict, error)',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    messagesSent: new Counter({ name: 'chat_messages_sent_total', help: 'Messages stored (MessageSent events appended)', registers }),
    eventStoreRecordsSkipped: new Counter({
      name: 'chat_event_store_records_skipped_total',
      help: 'Event store records the event feed passed over, each time a read met one, by reason: tombstone, system, unreadable',
      labelNames: ['reason'],
      registers,
    }),
    pushOutcomes: pushOutcomeCounter(registers),
    ...replicationMetrics(registers),
  };
}

/** Cross-datacenter replication, from the sync consumer and the forwarding of commands. */
function replicationMetrics(registers: Registry[]) {
  const forwardedCommands = new Counter({
    name: 'chat_forwarded_commands_total',
    help:
      'Commands and appends forwarded to the home datacenter of their stream, by outcome: decided (a command the home ran), ' +
      'appended, conflict (an append decided again here), refused (the home said no), unavailable (no answer)',
    labelNames: ['outcome'],
    registers,
  });
  for (const outcome of ['decided', 'appended', 'conflict', 'refused', 'unavailable']) forwardedCommands.inc({ outcome }, 0);
  return {
    forwardedCommands,
    replicationLagEvents: new Gauge({
      name: 'chat_replication_lag_events',
      help: 'Events of a source datacenter mirrored into the local Kafka and not yet applied here',
      labelNames: ['source_dc'],
      registers,
    }),
    replicationLagSeconds: new Gauge({
      name: 'chat_replication_lag_seconds',
      help: 'Age of the last event applied from a source datacenter when it was applied here',
      labelNames: ['source_dc'],
      registers,
    }),
    replicationApplied: new Counter({
      name: 'chat_replication_events_total',
      help: 'Events from other datacenters by outcome: appended, duplicate (already here), diverged, gap, halted (stream stopped after a divergence)',
      labelNames: ['source_dc', 'outcome'],
      registers,
    }),
  };
}

function pushOutcomeCounter(registers: Registry[]): Counter<'outcome'> {
  const counter = new Counter({
    name: 'chat_push_notifications_total',
    help:
      'Pushes per device token by outcome: sent; pruned (FCM no longer knows the token, removed from the user); ' +
      'failed (refused for good); retried (sent again after a transient failure); given_up (still failing after the last attempt)',
    labelNames: ['outcome'],
    registers,
  });
  // Every outcome is exported from the start, so rate() and alerts see a zero rather than no series.
  for (const outcome of PUSH_OUTCOMES) counter.inc({ outcome }, 0);
  return counter;
}

/** The number of open WebSocket connections, read at scrape time. */
export function observeConnections({ registry }: Metrics, source: { readonly connectionCount: number }): void {
  new Gauge({
    name: 'chat_ws_connections',
    help: 'Open WebSocket connections',
    registers: [registry],
    collect() {
      this.set(source.connectionCount);
    },
  });
}

/** Each projection's lag behind the head, in events (counted up to LAG_COUNT_LIMIT) and in seconds, read at scrape time. */
export function observeProjectionLag({ registry }: Metrics, lags: () => Promise<CheckpointLag[]>): void {
  const gauge = (name: string, help: string, value: (lag: CheckpointLag) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['projection'],
      registers: [registry],
      async collect() {
        for (const lag of await lags()) if (lag.kind === 'projection') this.set({ projection: lag.name }, value(lag));
      },
    });
  gauge(
    'chat_projection_lag_events',
    `Events stored after the projection checkpoint, counted up to ${LAG_COUNT_LIMIT} (at ${LAG_COUNT_LIMIT}: at least that many; 0 when caught up)`,
    (l) => l.lagEvents,
  );
  gauge('chat_projection_lag_seconds', 'Age of the oldest event the projection has not applied yet (0 when caught up)', (l) => l.lagSeconds);
}
