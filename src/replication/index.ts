import type { Logger } from 'pino';
import type { EventStore } from '../eventstore/port.js';
import { retryPolicies, withRetry } from '../shared/retry.js';
import type { AnalyticsStore, ProjectionSink } from '../projections/ports.js';
import { AnalyticsConsumer } from './analytics.js';
import { createKafka } from './kafka.js';
import { KafkaPublisher } from './publisher.js';
import { SyncConsumer, type SyncConsumerDeps } from './syncConsumer.js';

export interface ReplicationDeps {
  brokers: string;
  dcId: string;
  store: EventStore;
  /** Holds the publisher's checkpoint and the analytics facts. */
  readStore: ProjectionSink & Pick<AnalyticsStore, 'recordMessageFacts'>;
  logger: Logger;
  /** With other datacenters: what the sync consumer needs to apply their events here. */
  sync?: Omit<SyncConsumerDeps, 'kafka' | 'dcId' | 'logger'>;
}

export interface Replication {
  publisher: KafkaPublisher;
  analytics: AnalyticsConsumer;
  sync: SyncConsumer | null;
  /** Resolves once all are running (they keep retrying until then). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the Kafka publisher, the analytics consumer and (with other datacenters) the sync consumer
 * in the background. Kafka being down at
 * start-up delays them, retried with backoff and logged; it never stops the API from serving.
 */
export function startReplication(deps: ReplicationDeps): Replication {
  const kafka = createKafka(deps.brokers, `chat-${deps.dcId}`, deps.logger);
  const publisher = new KafkaPublisher({ kafka, store: deps.store, readStore: deps.readStore, dcId: deps.dcId, logger: deps.logger });
  const sources = deps.sync?.sources ?? [];
  const analytics = new AnalyticsConsumer({
    kafka,
    readStore: deps.readStore,
    dcId: deps.dcId,
    datacenters: [deps.dcId, ...sources],
    logger: deps.logger,
  });
  const sync = deps.sync ? new SyncConsumer({ ...deps.sync, kafka, dcId: deps.dcId, logger: deps.logger }) : null;
  const stopping = new AbortController();
  const keepTrying = async (name: string, start: () => Promise<void>) => {
    try {
      await withRetry(retryPolicies.kafkaStartup, start, {
        signal: stopping.signal,
        onRetry: (err, attempt) => deps.logger.error({ err, attempt }, `${name} could not start; retrying`),
      });
      deps.logger.info(`${name} started`);
    } catch (err) {
      // The policy retries every failure: only a stop ends the trying, and that is no error.
      if (!stopping.signal.aborted) throw err;
    }
  };
  const ready = Promise.all([
    keepTrying('Kafka publisher', () => publisher.start()),
    keepTrying('analytics consumer', () => analytics.start()),
    sync && keepTrying('sync consumer', () => sync.start()),
  ]).then(() => undefined);
  return {
    publisher,
    analytics,
    sync,
    ready,
    async stop() {
      stopping.abort();
      // A start still connecting would otherwise finish after the stop and keep its client open.
      await ready.catch(() => undefined);
      await Promise.allSettled([publisher.stop(), analytics.stop(), sync?.stop()]);
    },
  };
}
