import type { Kafka } from 'kafkajs';
import { syncGroup } from './syncConsumer.js';
import { topicOf } from './wire.js';

/**
 * Events of each source DC's topic in the local Kafka that the sync consumer has not committed yet:
 * the high watermark minus the committed offset, summed over partitions (from the start of the
 * partition when nothing is committed).
 */
export async function syncLagEvents(kafka: Kafka, dcId: string, sources: readonly string[]): Promise<Record<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = sources.map(topicOf);
    const committed = await admin.fetchOffsets({ groupId: syncGroup(dcId), topics });
    const lags: Record<string, number> = {};
    for (const [i, source] of sources.entries()) {
      const ends = await admin.fetchTopicOffsets(topics[i]!);
      const done = new Map(committed.find((c) => c.topic === topics[i])?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
      lags[source] = ends.reduce((sum, p) => {
        const from = (done.get(p.partition) ?? -1) >= 0 ? done.get(p.partition)! : Number(p.low);
        return sum + Math.max(0, Number(p.high) - from);
      }, 0);
    }
    return lags;
  } finally {
    await admin.disconnect();
  }
}
