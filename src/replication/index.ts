import type { Logger } from 'pino';
import type { EventStore } from '../eventstore/port.js';
import { retryPolicies, withRetry } from '../shared/retry.js';
import type { AnalyticsStore, ProjectionSink } from '../projections/ports.js';
import { AnalyticsConsumer } from './analytics.js';
import { createKafka } from './kafka.js';
import { KafkaPublisher } from './publisher.js';

export interface ReplicationDeps {
  brokers: string;
  dcId: string;
  store: EventStore;
  /** Holds the publisher's checkpoint and the analytics facts. */
  readStore: ProjectionSink & Pick<AnalyticsStore, 'recordMessageFacts'>;
  logger: Logger;
}

export interface Replication {
  publisher: KafkaPublisher;
  analytics: AnalyticsConsumer;
  /** Resolves once both are running (they keep retrying until then). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the Kafka publisher and the analytics consumer in the background. Kafka being down at
 * start-up delays them, retried with backoff and logged; it never stops the API from serving.
 */
export function startReplication(deps: ReplicationDeps): Replication {
  const kafka = createKafka(deps.brokers, `chat-${deps.dcId}`, deps.logger);
  const publisher = new KafkaPublisher({ kafka, store: deps.store, readStore: deps.readStore, dcId: deps.dcId, logger: deps.logger });
  const analytics = new AnalyticsConsumer({ kafka, readStore: deps.readStore, dcId: deps.dcId, logger: deps.logger });
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
  // The analytics consumer subscribes by pattern, so the local topic must exist first.
  const ready = keepTrying('Kafka publisher', () => publisher.start()).then(() =>
    keepTrying('analytics consumer', () => analytics.start()),
  );
  return {
    publisher,
    analytics,
    ready,
    async stop() {
      stopping.abort();
      // A start still connecting would otherwise finish after the stop and keep its client open.
      await ready.catch(() => undefined);
      await Promise.allSettled([publisher.stop(), analytics.stop()]);
    },
  };
}
