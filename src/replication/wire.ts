import type { Kafka } from 'kafkajs';
import { z } from 'zod';
import { eventMetadata } from '../domain/events.js';
import type { RecordedEvent } from '../eventstore/port.js';

/**
 * The Kafka message value: one stored event as JSON, keyed by its stream id so that Kafka keeps
 * each stream's order within a partition. Consumers parse it with this schema and drop
 * duplicates by metadata.eventId.
 */
export const wireEvent = z.object({
  streamId: z.string(),
  revision: z.number().int().nonnegative(),
  position: z.number().int().positive(),
  type: z.string(),
  data: z.unknown(),
  metadata: eventMetadata,
});

export const topicOf = (dcId: string) => `im.${dcId}.events`;

/** Partitions of each DC's event topic; a stream's events stay in one, keyed by stream id. */
const PARTITIONS = 3;

/**
 * Creates the topics that do not exist yet. Consumers subscribe to named topics, which must exist
 * first: a mirrored topic appears only once MirrorMaker 2 copied something, and it fills one that is
 * already there.
 */
export async function ensureTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export const toWire = (e: RecordedEvent) => ({
  key: e.streamId,
  value: JSON.stringify({ streamId: e.streamId, revision: e.revision, position: e.position, type: e.type, data: e.data, metadata: e.metadata }),
  headers: { eventId: e.metadata.eventId, originDc: e.metadata.originDc },
});

export function fromWire(value: Buffer | null): RecordedEvent {
  if (!value) throw new Error('empty Kafka message');
  return wireEvent.parse(JSON.parse(value.toString('utf8'))) as RecordedEvent;
}
