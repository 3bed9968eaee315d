import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { eventMetadata } from '../commands/commandHandler.js';
import { openSqlite } from '../db/sqlite.js';
import type { EventStore, RecordedEvent } from '../eventstore/port.js';
import { SqliteEventStore } from '../eventstore/sqlite.js';
import { newConversationCache } from '../server.js';
import { ConversationFeed } from '../feed/index.js';
import { checkpointLags } from './lag.js';
import { projectionNames, type ProjectionName } from './projectors.js';
import { rebuildProjections } from './rebuild.js';
import { ProjectionRunner } from './runner.js';
import { SqliteReadStore } from './stores/sqlite.js';
import { SqliteRebuildTarget } from './stores/sqliteRebuild.js';
import { sparsePositions, toDense, toSparse } from '../../test/support/sparsePositions.js';

/**
 * Nothing outside the event store adapters may depend on positions being consecutive: EventStoreDB's
 * are log offsets. Every job that walks the feed runs here over the real SQLite store seen through
 * sparse positions, and must build exactly what it builds over the store itself.
 */

const OPTIONS = { inboxPullThreshold: 500 };
const PAGE = 4;

/** Users, a group and a direct conversation with messages, reads, a member added and a recall, interleaved. */
async function seededStore(): Promise<SqliteEventStore> {
  const store = new SqliteEventStore(openSqlite(':memory:'));
  const append = (stream: string, type: string, data: unknown) =>
    store.append(stream, [{ type, data, metadata: eventMetadata('dc1', { correlationId: randomUUID() }) }], 'any');
  for (const userId of ['ann', 'ben', 'cat']) {
    await append(`user-${userId}`, 'UserRegistered', { userId, username: userId, displayName: userId, passwordHash: 'x' });
  }
  const member = (userId: string, role = 'member') => ({ userId, role });
  const conversation = (conversationId: string, kind: string, title: string | null) => ({
    conversationId,
    kind,
    title,
    createdBy: 'ann',
    members: [member('ann', 'owner'), member('ben')],
    homeDc: 'dc1',
  });
  await append('conversation-g1', 'ConversationCreated', conversation('g1', 'group', 'team'));
  await append('conversation-d1', 'ConversationCreated', conversation('d1', 'direct', null));
  const message = (i: number, senderId: string) => ({ messageId: `m${i}`, senderId, clientMsgId: `c${i}`, kind: 'text', text: `hello ${i}`, media: null });
  for (let i = 1; i <= 8; i++) {
    await append('conversation-g1', 'MessageSent', message(i, i % 2 ? 'ann' : 'ben'));
    await append('conversation-d1', 'MessageSent', message(100 + i, i % 2 ? 'ben' : 'ann'));
  }
  await append('conversation-g1', 'MessageRead', { userId: 'ben', upToSeq: 5 });
  await append('conversation-g1', 'MemberAdded', { userId: 'cat', role: 'member', addedBy: 'ann' });
  await append('conversation-g1', 'MessageRecalled', { messageId: 'm2', seq: 2, recalledBy: 'ann' });
  for (let i = 9; i <= 12; i++) await append('conversation-g1', 'MessageSent', message(i, 'cat'));
  await append('conversation-d1', 'MessageRead', { userId: 'ann', upToSeq: 8 });
  return store;
}

const runnerOver = (store: EventStore, readStore: SqliteReadStore, names?: ProjectionName[]) =>
  new ProjectionRunner({ store, readStore, conversations: newConversationCache(store), options: OPTIONS, names });

/** A read store's documents and checkpoints with sparse positions mapped back, to compare with the plain store's. */
async function densified(readStore: SqliteReadStore) {
  const dump = await readStore.dump();
  const documents = Object.fromEntries(
    Object.entries(dump).map(([collection, docs]) => [collection, docs.map((d) => ({ ...(d as object), _pos: toDense((d as { _pos: number })._pos) }))]),
  );
  const checkpoints = Object.fromEntries(Object.entries(await readStore.checkpoints()).map(([name, p]) => [name, toDense(p)]));
  return { documents, checkpoints };
}

async function plainReadModels(store: EventStore) {
  const readStore = new SqliteReadStore(openSqlite(':memory:'));
  await runnerOver(store, readStore).catchUp({ pageSize: PAGE });
  return { documents: await readStore.dump(), checkpoints: await readStore.checkpoints() };
}

async function allEvents(store: EventStore): Promise<RecordedEvent[]> {
  return store.readAll(0, 1000);
}

describe('projections over sparse positions (as EventStoreDB log offsets)', () => {
  it('catch-up builds the same read models as over consecutive positions', async () => {
    const plain = await seededStore();
    const readStore = new SqliteReadStore(openSqlite(':memory:'));
    await runnerOver(sparsePositions(plain), readStore).catchUp({ pageSize: PAGE });
    assert.deepEqual(await densified(readStore), await plainReadModels(plain));
  });

  it('a live runner catches up to the feed, follows it and settles on the head', async () => {
    const plain = await seededStore();
    const store = sparsePositions(plain);
    const readStore = new SqliteReadStore(openSqlite(':memory:'));
    const feed = new ConversationFeed({ store, newCache: () => newConversationCache(store), logger: pino({ level: 'silent' }) });
    await feed.start();
    const runner = new ProjectionRunner({ store, readStore, conversations: newConversationCache(store), feed, options: OPTIONS });
    await runner.start();
    try {
      assert.equal(await runner.waitFor(await store.headPosition(), 10_000), true);
      const live = { messageId: 'm13', senderId: 'ben', clientMsgId: 'c13', kind: 'text', text: 'live', media: null };
      await plain.append('conversation-g1', [{ type: 'MessageSent', data: live, metadata: eventMetadata('dc1', { correlationId: randomUUID() }) }], 'any');
      assert.equal(await runner.waitFor(await store.headPosition(), 10_000), true);
    } finally {
      await runner.stop();
      await feed.stop();
    }
    assert.deepEqual(await densified(readStore), await plainReadModels(plain));
  });

  it('replay from an event position applies the range and moves the checkpoint it joins up with', async () => {
    const plain = await seededStore();
    const store = sparsePositions(plain);
    const events = await allEvents(store);
    const head = events[events.length - 1]!.position;
    const readStore = new SqliteReadStore(openSqlite(':memory:'));
    const messages = runnerOver(store, readStore, ['messages']);
    // The messages projection has applied everything before the group's first message.
    const firstMessage = events.findIndex((e) => e.type === 'MessageSent');
    await messages.catchUp({ until: events[firstMessage - 1]!.position });

    const batches: number[] = [];
    const reached = await messages.replay(events[firstMessage]!.position, head, { pageSize: PAGE, onBatch: (_p, n) => void batches.push(n) });

    assert.equal(reached, head);
    assert.equal(batches.reduce((a, b) => a + b, 0), events.length - firstMessage);
    assert.equal((await readStore.checkpoints()).messages, head);
    const { documents } = await densified(readStore);
    assert.deepEqual(documents.messages, (await plainReadModels(plain)).documents.messages);
  });

  it('replay past a gap leaves the checkpoint where it was', async () => {
    const store = sparsePositions(await seededStore());
    const events = await allEvents(store);
    const readStore = new SqliteReadStore(openSqlite(':memory:'));
    const messages = runnerOver(store, readStore, ['messages']);
    await messages.catchUp({ until: events[5]!.position });
    await messages.replay(events[7]!.position, events[10]!.position, { pageSize: PAGE });
    assert.equal((await readStore.checkpoints()).messages, events[5]!.position);
  });

  it('lag counts the events behind a checkpoint, and says when the count stopped at its limit', async () => {
    const store = sparsePositions(await seededStore());
    const events = await allEvents(store);
    const checkpoint = events[events.length - 6]!.position;
    const { head, lags } = await checkpointLags(store, { messages: checkpoint, push: events[0]!.position });
    assert.equal(head, events[events.length - 1]!.position);
    const messages = lags.find((l) => l.name === 'messages')!;
    assert.deepEqual([messages.position, messages.lagEvents, messages.lagEventsCapped], [checkpoint, 5, false]);
    assert.ok(messages.lagSeconds >= 0);
    const capped = (await checkpointLags(store, { messages: checkpoint }, { countLimit: 3 })).lags.find((l) => l.name === 'messages')!;
    assert.deepEqual([capped.lagEvents, capped.lagEventsCapped], [3, true]);
    const push = lags.find((l) => l.name === 'push')!;
    assert.equal(push.lagEvents, events.length - 1);
  });

  it('a rebuild applies every event once and swaps in the same read models', async () => {
    const plain = await seededStore();
    const store = sparsePositions(plain);
    const db = openSqlite(':memory:');
    const live = new SqliteReadStore(db);
    let applied = 0;
    const position = await rebuildProjections(
      projectionNames,
      { store, target: new SqliteRebuildTarget(db), conversations: newConversationCache(store), options: OPTIONS },
      { pageSize: PAGE, throttledPageSize: 2, onBatch: (_p, n) => void (applied += n), throttle: () => undefined },
    );
    assert.equal(position, await store.headPosition());
    assert.equal(applied, await store.countAfter(0, 1000));
    assert.deepEqual(await densified(live), await plainReadModels(plain));
  });

  it('positions map both ways, and only an event position maps back', () => {
    assert.equal(toDense(toSparse(42)), 42);
    assert.equal(toSparse(0), 0);
    assert.throws(() => toDense(toSparse(42) - 1), /not the position of an event/);
  });
});
