import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import { PUBLISHER_CHECKPOINT } from '../../src/replication/publisher.js';
import { fromWire, topicOf } from '../../src/replication/wire.js';
import { ApiClient } from '../support/client.js';
import { profileEnv, startTestServer, type TestServer } from '../support/server.js';
import { tempDir } from '../support/tmp.js';

const brokers = process.env.KAFKA_BROKERS;
const ADMIN_TOKEN = 'admin-token-for-tests-only';

/** Reads a topic from the beginning into an array, as an independent consumer would. */
async function readTopic(kafka: Kafka, topic: string): Promise<{ messages: { key: string; event: RecordedEvent }[]; consumer: Consumer }> {
  const consumer = kafka.consumer({ groupId: `test-${randomUUID()}` });
  const messages: { key: string; event: RecordedEvent }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void messages.push({ key: message.key!.toString(), event: fromWire(message.value) }) });
  return { messages, consumer };
}

async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Resolves once the consumer has read everything on the topic, after the publisher stored a
 * checkpoint at or past `position`: what it will ever publish up to there is then counted, so a
 * duplicate would show instead of being waited out with a sleep.
 */
async function readEverything(kafka: Kafka, server: TestServer, topic: string, position: number, messages: unknown[]): Promise<void> {
  await until('the publisher past the last local event', async () => ((await server.readStore.checkpoints())[PUBLISHER_CHECKPOINT] ?? 0) >= position);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    await until(`all ${total} messages of ${topic}`, () => messages.length >= total);
  } finally {
    await admin.disconnect();
  }
}

if (!brokers) {
  describe('Kafka replication', () => {
    it.skip('skipped: KAFKA_BROKERS is not set (npm run test:infra starts Apache Kafka and sets it)');
  });
} else {
  describe('Kafka replication', () => {
    const kafka = new Kafka({ clientId: 'test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const data = tempDir();
    const profile = { ...profileEnv(), REPLICATION: 'kafka', KAFKA_BROKERS: brokers, DC_ID: `k${randomUUID().slice(0, 6)}` };
    const env = { ...profile, DATA_DIR: data.dir, ADMIN_TOKEN };
    let server: TestServer;
    let api: ApiClient;
    const consumers: Consumer[] = [];
    before(async () => {
      server = await startTestServer(env);
      api = new ApiClient(server.url);
      await server.replication!.ready;
    });
    after(async () => {
      await Promise.all(consumers.map((c) => c.disconnect()));
      await server.stop();
      data.remove();
    });

    it('publishes every local event, keyed by stream id and in stream order, and nothing from other datacenters', async () => {
      const a = await api.user('a');
      const b = await api.user('b');
      const c = await api.direct(a, b);
      for (let i = 0; i < 10; i++) await api.send(i % 2 ? a : b, c, `m${i}`);
      await server.store.append(
        `conversation-${randomUUID()}`,
        [
          {
            type: 'ConversationCreated',
            data: { conversationId: 'foreign', kind: 'group', title: 'from elsewhere', createdBy: a.userId, members: [{ userId: a.userId, role: 'owner' }], homeDc: 'elsewhere' },
            metadata: { eventId: randomUUID(), originDc: 'elsewhere', correlationId: 'x', causationId: 'x', at: new Date().toISOString(), schemaVersion: 1 },
          },
        ],
        'no_stream',
      );
      const local = (await server.store.readAll(0, 10_000)).filter((e) => e.metadata.originDc === profile.DC_ID);
      const { messages, consumer } = await readTopic(kafka, topicOf(profile.DC_ID));
      consumers.push(consumer);
      await readEverything(kafka, server, topicOf(profile.DC_ID), local[local.length - 1]!.position, messages);
      assert.equal(messages.length, local.length, 'each event exactly once');
      assert.deepEqual(new Set(messages.map((m) => m.event.metadata.eventId)), new Set(local.map((e) => e.metadata.eventId)));
      assert.ok(messages.every((m) => m.key === m.event.streamId));
      assert.ok(messages.every((m) => m.event.metadata.originDc === profile.DC_ID));
      const conversation = messages.filter((m) => m.event.streamId === `conversation-${c}`).map((m) => m.event.revision);
      assert.deepEqual(conversation, Array.from({ length: 11 }, (_, i) => i));
    });

    it('resumes from its checkpoint after a restart: nothing lost, nothing repeated', async () => {
      const before = (await server.store.readAll(0, 100_000)).filter((e) => e.metadata.originDc === profile.DC_ID).length;
      const { messages, consumer } = await readTopic(kafka, topicOf(profile.DC_ID));
      consumers.push(consumer);
      await until('the published backlog', () => messages.length >= before);
      await server.stop();
      server = await startTestServer(env);
      api = new ApiClient(server.url);
      await server.replication!.ready;
      const a = await api.user('after');
      const b = await api.user('restart');
      const c = await api.direct(a, b);
      await api.send(a, c, 'after the restart');
      const local = (await server.store.readAll(0, 100_000)).filter((e) => e.metadata.originDc === profile.DC_ID);
      await readEverything(kafka, server, topicOf(profile.DC_ID), local[local.length - 1]!.position, messages);
      const ids = messages.map((m) => m.event.metadata.eventId);
      assert.equal(ids.length, local.length);
      assert.equal(new Set(ids).size, ids.length);
    });

    it('the analytics consumer counts messages once per event id, readable with the admin token', async () => {
      const a = await api.user('x');
      const b = await api.user('y');
      const c = await api.direct(a, b);
      for (let i = 0; i < 3; i++) await api.send(a, c, `counted ${i}`);
      await api.send(b, c, 'me too');
      const busiest = async () => {
        const res = await api.request('GET', '/v1/admin/analytics?limit=1000', { token: ADMIN_TOKEN });
        return res.body.busiestConversations.find((x: any) => x.conversationId === c)?.messages;
      };
      await until('analytics for the conversation', async () => (await busiest()) === 4);
      // A redelivered event (same id) is not counted twice.
      const [sent] = (await server.store.readStream(`conversation-${c}`, { fromRevision: 1, maxCount: 1 })) as RecordedEvent[];
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: topicOf(profile.DC_ID), messages: [{ key: sent!.streamId, value: JSON.stringify(sent) }] });
      await producer.disconnect();
      // A fence: the next message of the same stream lands in the same partition, after the repeat.
      await api.send(b, c, 'after the repeat');
      await until('the message after the repeat', async () => (await busiest()) >= 5);
      assert.equal(await busiest(), 5);
      const report = (await api.request('GET', '/v1/admin/analytics', { token: ADMIN_TOKEN })).body;
      const today = new Date().toISOString().slice(0, 10);
      assert.ok(report.dailyActiveSenders.find((d: any) => d.day === today).senders >= 2);
      assert.ok(report.messagesPerHour.some((h: any) => h.conversationId === c && h.messages === 5));
      assert.equal((await api.request('GET', '/v1/admin/analytics')).status, 401);
      const user = await api.user('z');
      assert.equal((await api.request('GET', '/v1/admin/analytics', { token: user.token })).status, 403);
    });

    it('publishes a burst of appended events in order (throughput figure)', async () => {
      const { messages, consumer } = await readTopic(kafka, topicOf(profile.DC_ID));
      consumers.push(consumer);
      const already = (await server.store.readAll(0, 1_000_000)).filter((e) => e.metadata.originDc === profile.DC_ID).length;
      await until('the backlog', () => messages.length >= already);
      const stream = `conversation-${randomUUID()}`;
      const count = 5000;
      const started = Date.now();
      for (let revision = -1; revision < count - 1; revision += 500) {
        const batch = Array.from({ length: 500 }, (_, i) => ({
          type: 'ConversationUpdated',
          data: { title: `t${revision + 1 + i}`, updatedBy: 'bench' },
          metadata: { eventId: randomUUID(), originDc: profile.DC_ID, correlationId: 'b', causationId: 'b', at: new Date().toISOString(), schemaVersion: 1 },
        }));
        await server.store.append(stream, batch, revision < 0 ? 'any' : revision);
      }
      await until('the burst on the topic', () => messages.filter((m) => m.event.streamId === stream).length >= count, 60_000);
      const seconds = (Date.now() - started) / 1000;
      console.log(`publisher: ${count} events appended and on the topic in ${seconds.toFixed(2)} s (${Math.round(count / seconds)} events/s)`);
      const burst = messages.filter((m) => m.event.streamId === stream);
      assert.deepEqual(burst.map((m) => m.event.revision), Array.from({ length: count }, (_, i) => i));
    });
  });
}
