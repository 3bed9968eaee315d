import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Kafka, logLevel, type IHeaders, type KafkaMessage } from 'kafkajs';
import { topicOf } from '../../src/replication/wire.js';
import { DC_IDS, multiDcSuite, otherDc, type DcId } from '../support/multidc.js';
import { eventually } from '../support/waits.js';

interface Copy {
  value: string;
  headers: Record<string, string>;
}

const text = (headers: IHeaders | undefined) => Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]));

/** Every message of `topic` on one broker, from the beginning, by key, as it keeps arriving. */
async function follow(brokers: string, topic: string) {
  const kafka = new Kafka({ clientId: 'mirror-test', brokers: [brokers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `mirror-test-${randomUUID()}` });
  const byKey = new Map<string, Copy>();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }: { message: KafkaMessage }) =>
      void byKey.set(String(message.key), { value: String(message.value), headers: text(message.headers) }),
  });
  return { byKey, stop: () => consumer.disconnect() };
}

describe('MirrorMaker 2 between the two brokers', () => {
  const suite = multiDcSuite();

  for (const origin of DC_IDS) {
    const target: DcId = otherDc(origin);
    it(`copies ${topicOf(origin)} from ${origin}'s broker to ${target}'s under the same name, byte for byte`, async () => {
      const { dc } = suite.stack;
      const user = await dc[origin].api.user(`m${origin}`);
      const key = `user-${user.userId}`;
      const source = await follow(dc[origin].brokers, topicOf(origin));
      const mirror = await follow(dc[target].brokers, topicOf(origin));
      try {
        const original = await eventually(`${key} on ${origin}'s broker`, async () => source.byKey.get(key), Boolean);
        const copy = await eventually(`${key} on ${target}'s broker`, async () => mirror.byKey.get(key), Boolean);
        assert.deepEqual(copy, original);
      } finally {
        await Promise.all([source.stop(), mirror.stop()]);
      }
    });
  }
});
