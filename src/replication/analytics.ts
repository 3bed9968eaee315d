import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { RecordedEvent } from '../eventstore/port.js';
import { messageFacts } from '../projections/analytics.js';
import type { AnalyticsStore } from '../projections/ports.js';
import { ensureTopics, fromWire, topicOf } from './wire.js';

export interface AnalyticsConsumerDeps {
  kafka: Kafka;
  readStore: Pick<AnalyticsStore, 'recordMessageFacts'>;
  dcId: string;
  /** Every datacenter, this one included: each one's topic is read. */
  datacenters: readonly string[];
  logger: Logger;
}

/**
 * Reads every datacenter's event topic in its own consumer group and records message facts.
 * Offsets are committed after the facts are stored; a redelivered message repeats an event id and
 * is dropped by the store.
 */
export class AnalyticsConsumer {
  private consumer: Consumer | null = null;

  constructor(private readonly deps: AnalyticsConsumerDeps) {}

  async start(): Promise<void> {
    const { kafka, readStore, logger, dcId } = this.deps;
    const topics = this.deps.datacenters.map(topicOf);
    await ensureTopics(kafka, topics);
    this.consumer = kafka.consumer({ groupId: `analytics-${dcId}` });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics, fromBeginning: true });
    await this.consumer.run({
      eachBatch: async ({ batch }) => {
        const events: RecordedEvent[] = [];
        for (const message of batch.messages) {
          try {
            events.push(fromWire(message.value));
          } catch (err) {
            // A malformed message would block the partition forever; it is logged loudly and skipped.
            logger.error({ err, topic: batch.topic, partition: batch.partition, offset: message.offset }, 'unreadable event on Kafka; skipped');
          }
        }
        await readStore.recordMessageFacts(messageFacts(events));
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
