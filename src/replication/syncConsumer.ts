import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { StreamCopier } from '../datacenters/streamCopier.js';
import type { AppendAtOutcome, RecordedEvent } from '../eventstore/port.js';
import type { Metrics } from '../observability/metrics.js';
import type { HaltedStream, ReplicationStatusStore } from './replicationStatus.js';
import { ensureTopics, fromWire, topicOf } from './wire.js';

export interface SyncConsumerDeps {
  kafka: Kafka;
  dcId: string;
  /** The other datacenters, whose topics MirrorMaker 2 copies into the local Kafka. */
  sources: readonly string[];
  copier: StreamCopier;
  status: ReplicationStatusStore;
  metrics: Pick<Metrics, 'replicationLagEvents' | 'replicationLagSeconds' | 'replicationApplied'>;
  logger: Logger;
}

/**
 * Applies the other datacenters' events to the local event store, each at its origin revision with
 * its own id (consumer group `sync-<DC_ID>`, so instances of a DC share the partitions). A repeat is
 * skipped. A Kafka offset is marked done only after its event is durable here, and committed after
 * that, so a crash re-applies at most what was not committed, as repeats. A different event at a
 * stored revision is a divergence: never overwritten, logged as an error, counted, kept for
 * `im status`, and the stream stops replicating until an operator repairs it. A missing predecessor
 * is fetched from the stream's home over the internal link; if the home cannot give it, the stream
 * halts the same way, and while the home is out of reach the batch is retried.
 */
export class SyncConsumer {
  private consumer: Consumer | null = null;
  private readonly halted = new Set<string>();

  constructor(private readonly deps: SyncConsumerDeps) {}

  get topics(): string[] {
    return this.deps.sources.map(topicOf);
  }

  async start(): Promise<void> {
    const { kafka, dcId, status } = this.deps;
    for (const stream of await status.halted()) this.halted.add(stream.streamId);
    // Subscribing to a topic that does not exist yet would miss it until a restart; MirrorMaker 2
    // fills a topic that is already there.
    await ensureTopics(kafka, this.topics);
    this.consumer = kafka.consumer({ groupId: syncGroup(dcId), maxWaitTimeInMs: 1000 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await this.consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        let last: RecordedEvent | null = null;
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          last = (await this.apply(message, batch.topic)) ?? last;
          resolveOffset(message.offset);
          await heartbeat();
        }
        const source = sourceOf(batch.topic);
        this.deps.metrics.replicationLagEvents.set({ source_dc: source }, Number(batch.offsetLag()));
        if (last) await this.recordProgress(source, last);
      },
    });
  }

  private async apply(message: KafkaMessage, topic: string): Promise<RecordedEvent | null> {
    const { dcId, copier, metrics, logger } = this.deps;
    let event: RecordedEvent;
    try {
      event = fromWire(message.value);
    } catch (err) {
      // A malformed message would block the partition forever; it is logged loudly and skipped.
      logger.error({ err, topic, offset: message.offset }, 'unreadable event on Kafka; not replicated');
      return null;
    }
    const source = event.metadata.originDc;
    if (source === dcId) return null;
    if (this.halted.has(event.streamId)) {
      metrics.replicationApplied.inc({ source_dc: source, outcome: 'halted' });
      return null;
    }
    const outcome = await copier.copy(source, event);
    metrics.replicationApplied.inc({ source_dc: source, outcome: outcome.outcome });
    if (outcome.outcome === 'diverged' || outcome.outcome === 'gap') await this.halt(event, outcome);
    return event;
  }

  private async halt(event: RecordedEvent, outcome: Extract<AppendAtOutcome, { outcome: 'diverged' | 'gap' }>): Promise<void> {
    const halted: HaltedStream = {
      streamId: event.streamId,
      revision: event.revision,
      sourceDc: event.metadata.originDc,
      reason: outcome.outcome,
      eventId: event.metadata.eventId,
      foundEventId: outcome.outcome === 'diverged' ? outcome.foundEventId : null,
      at: new Date().toISOString(),
    };
    this.halted.add(event.streamId);
    await this.deps.status.halt(halted);
    this.deps.logger.error({ halted }, `stream ${event.streamId} stopped replicating: ${outcome.outcome} at revision ${event.revision}`);
  }

  private async recordProgress(source: string, last: RecordedEvent): Promise<void> {
    const appliedAt = new Date();
    this.deps.metrics.replicationLagSeconds.set({ source_dc: source }, Math.max(0, appliedAt.getTime() - Date.parse(last.metadata.at)) / 1000);
    await this.deps.status.progress({ sourceDc: source, lastEventAt: last.metadata.at, appliedAt: appliedAt.toISOString() });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** One consumer group per datacenter: its instances share the partitions. */
export const syncGroup = (dcId: string) => `sync-${dcId}`;

/** `im.dc2.events` -> `dc2`. */
const sourceOf = (topic: string) => topic.slice('im.'.length, -'.events'.length);
