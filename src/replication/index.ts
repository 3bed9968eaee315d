import type { Logger } from 'pino';
import type { EventStore } from '../eventstore/port.js';
import type { ReadStore } from '../projections/readStore.js';
import { AnalyticsConsumer } from './analytics.js';
import { createKafka } from './kafka.js';
import { KafkaPublisher } from './publisher.js';

export interface ReplicationDeps {
  brokers: string;
  dcId: string;
  store: EventStore;
  readStore: ReadStore;
  logger: Logger;
}

export interface Replication {
  publisher: KafkaPublisher;
  analytics: AnalyticsConsumer;
  /** Resolves once both are running (they keep retrying until then). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * Starts the Kafka publisher and the analytics consumer in the background. Kafka being down at
 * start-up delays them, retried with backoff and logged; it never stops the API from serving.
 */
export function startReplication(deps: ReplicationDeps): Replication {
  const kafka = createKafka(deps.brokers, `chat-${deps.dcId}`, deps.logger);
  const publisher = new KafkaPublisher({ kafka, store: deps.store, readStore: deps.readStore, dcId: deps.dcId, logger: deps.logger });
  const analytics = new AnalyticsConsumer({ kafka, readStore: deps.readStore, dcId: deps.dcId, logger: deps.logger });
  let stopped = false;
  const keepTrying = async (name: string, start: () => Promise<void>) => {
    for (let backoff = 500; !stopped; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
      try {
        await start();
        deps.logger.info(`${name} started`);
        return;
      } catch (err) {
        deps.logger.error({ err, retryInMs: backoff }, `${name} could not start; retrying`);
        await new Promise((r) => setTimeout(r, backoff));
      }
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
      stopped = true;
      await Promise.allSettled([publisher.stop(), analytics.stop()]);
    },
  };
}
