import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { ConversationDoc, UserConversationDoc, Write } from '../model.js';
import { SqliteReadStore } from './sqlite.js';

const conversation = (conversationId: string, kind: 'direct' | 'group', memberCount: number): Write => ({
  kind: 'upsert',
  collection: 'conversations',
  key: { conversationId },
  set: { kind, memberCount } satisfies Partial<ConversationDoc>,
});

const membership = (userId: string, conversationId: string, leftSeq: number | null = null): Write => ({
  kind: 'upsert',
  collection: 'userConversations',
  key: { userId, conversationId },
  set: { leftSeq } satisfies Partial<UserConversationDoc>,
});

describe('SQLite read store: presence queries', () => {
  const db = new Database(':memory:');
  const store = new SqliteReadStore(db);
  before(async () => {
    const writes: Write[] = [
      conversation('d-ab', 'direct', 2),
      membership('a', 'd-ab'),
      membership('b', 'd-ab'),
      conversation('g-small', 'group', 3),
      membership('a', 'g-small'),
      membership('c', 'g-small'),
      membership('gone', 'g-small', 9),
      conversation('g-big', 'group', 4),
      ...['a', 'x', 'y', 'z'].map((u) => membership(u, 'g-big')),
      conversation('d-bs', 'direct', 2),
      membership('b', 'd-bs'),
      membership('s', 'd-bs'),
    ];
    await store.apply({ writes: writes.map((write, i) => ({ position: i + 1, write })), checkpoints: {} });
  });
  after(() => db.close());

  it('lists contacts over direct conversations and groups up to the size limit, current members only', async () => {
    assert.deepEqual((await store.listContacts('a', 3)).sort(), ['b', 'c']);
    assert.deepEqual((await store.listContacts('a', 4)).sort(), ['b', 'c', 'x', 'y', 'z']);
    assert.deepEqual(await store.listContacts('gone', 10), [], 'a former member has no contacts there');
  });

  it('knows who shares a conversation, whatever its size', async () => {
    assert.equal(await store.sharesConversation('a', 'b'), true);
    assert.equal(await store.sharesConversation('z', 'a'), true);
    assert.equal(await store.sharesConversation('a', 's'), false);
    assert.equal(await store.sharesConversation('c', 'gone'), false);
  });

  it('keeps the latest last-seen time whatever order they are saved in', async () => {
    await store.saveLastSeen({ a: '2030-01-01T10:00:00.000Z', b: '2030-01-01T09:00:00.000Z' });
    await store.saveLastSeen({ a: '2030-01-01T08:00:00.000Z', b: '2030-01-01T11:00:00.000Z' });
    assert.deepEqual(await store.getLastSeen(['a', 'b', 'nobody']), {
      a: '2030-01-01T10:00:00.000Z',
      b: '2030-01-01T11:00:00.000Z',
    });
  });
});
