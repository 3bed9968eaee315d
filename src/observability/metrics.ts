import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CheckpointLag } from '../projections/lag.js';

/**
 * The server's Prometheus metrics, on a registry the composition root creates and passes down
 * (no global registry: two servers in one process, as in the tests, keep their own numbers).
 */
export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  appendDuration: Histogram<'outcome'>;
  messagesSent: Counter;
  /** Push notification outcomes; the push sender increments it. */
  pushOutcomes: Counter<'outcome'>;
}

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
    pushOutcomes: new Counter({
      name: 'chat_push_notifications_total',
      help: 'Push notifications by outcome: sent, failed, or pruned (the token was unregistered and removed)',
      labelNames: ['outcome'],
      registers,
    }),
  };
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

/** Each projection's lag behind the head, in events and in seconds, read at scrape time. */
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
  gauge('chat_projection_lag_events', 'Events stored after the projection checkpoint', (l) => l.lagEvents);
  gauge('chat_projection_lag_seconds', 'Age of the oldest event the projection has not applied yet (0 when caught up)', (l) => l.lagSeconds);
}
