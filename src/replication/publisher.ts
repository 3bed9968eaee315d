import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { EventStore, RecordedEvent, Subscription } from '../eventstore/port.js';
import type { ProjectionSink } from '../projections/ports.js';
import { ensureTopics, toWire, topicOf } from './wire.js';

export const PUBLISHER_CHECKPOINT = 'publisher';

export interface PublisherDeps {
  kafka: Kafka;
  store: EventStore;
  /** Holds the publisher's checkpoint next to the projections'. */
  readStore: ProjectionSink;
  dcId: string;
  logger: Logger;
}

/**
 * Publishes every locally originated event to `im.<DC_ID>.events`, keyed by stream id, from a
 * stored checkpoint. The checkpoint moves only after Kafka acknowledged the batch (acks=all, with
 * an idempotent producer), so a crash re-sends at most one batch: at-least-once, and consumers
 * drop repeats by event id. Events that came from other datacenters are not sent back.
 */
export class KafkaPublisher {
  private producer: Producer | null = null;
  private subscription: Subscription | null = null;

  constructor(private readonly deps: PublisherDeps) {}

  get topic(): string {
    return topicOf(this.deps.dcId);
  }

  async start(): Promise<void> {
    const { kafka, readStore, store, logger } = this.deps;
    await ensureTopics(kafka, [this.topic]);
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    const after = (await readStore.checkpoints())[PUBLISHER_CHECKPOINT] ?? 0;
    this.subscription = store.subscribeAll(
      { after, onError: (err) => logger.error({ err }, 'publishing to Kafka failed; retrying') },
      (batch) => this.publish(batch),
    );
  }

  private async publish(batch: RecordedEvent[]): Promise<void> {
    const local = batch.filter((e) => e.metadata.originDc === this.deps.dcId);
    if (local.length > 0) {
      await this.producer!.send({ topic: this.topic, acks: -1, messages: local.map(toWire) });
    }
    await this.deps.readStore.apply({ writes: [], checkpoints: { [PUBLISHER_CHECKPOINT]: batch[batch.length - 1]!.position } });
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    await this.producer?.disconnect();
  }
}
