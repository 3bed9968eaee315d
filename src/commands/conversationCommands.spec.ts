import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSqlite } from '../db/sqlite.js';
import { RECENT_MESSAGES_MAX } from '../domain/conversation.js';
import { DomainError } from '../domain/errors.js';
import type { UserEvent } from '../domain/events.js';
import { conversationStream } from '../domain/streams.js';
import type { UserState } from '../domain/user.js';
import type { EventStore, ReadStreamOptions } from '../eventstore/port.js';
import { SqliteEventStore } from '../eventstore/sqlite.js';
import { freshAccountKeys } from '../privacy/index.js';
import { SqliteKeyStore } from '../privacy/sqliteKeyStore.js';
import { StateCache } from '../eventstore/stateCache.js';
import { newConversationCache, userFold } from '../server.js';
import { eventMetadata } from './commandHandler.js';
import { ChatService } from './service.js';

const ctx = { correlationId: 'test' };
const TWO_DAYS_MS = 2 * 24 * 3600 * 1000;

/** A service over a real SQLite event store (and no read models) that counts the reads of each stream. */
async function setUp() {
  const db = openSqlite(':memory:');
  const real = new SqliteEventStore(db);
  const reads = new Map<string, number>();
  const store: EventStore = Object.assign(Object.create(real) as EventStore, {
    readStream(streamId: string, options?: ReadStreamOptions) {
      reads.set(streamId, (reads.get(streamId) ?? 0) + 1);
      return real.readStream(streamId, options);
    },
  });
  const service = new ChatService(store, newConversationCache(store), new StateCache<UserState, UserEvent>(store, userFold), {
    dcId: 'dc1',
    maxGroupSize: 10,
    ...freshAccountKeys(new SqliteKeyStore(db)),
    usernameReservationTimeoutMs: 60_000,
  });
  const [ann, bob, cat] = await Promise.all(['ann', 'bob', 'cat'].map((username) => service.userCommands.register({ username, password: 'correct horse' }, ctx)));
  const { conversationId } = await service.conversationCommands.create(ann!.userId, { kind: 'group', title: 't', memberIds: [bob!.userId, cat!.userId] }, ctx);
  return { real, reads, service, conversationId, ann: ann!.userId, bob: bob!.userId, cat: cat!.userId };
}

describe('ConversationCommands.send', () => {
  it('reads the conversation stream once per send', async () => {
    const { reads, service, conversationId, ann } = await setUp();
    await service.conversationCommands.send(ann, conversationId, 'warm-up', 'hello', ctx);
    reads.clear();
    const sent = await service.conversationCommands.send(ann, conversationId, 'm1', 'again', ctx);
    assert.equal(sent.created, true);
    assert.equal(reads.get(conversationStream(conversationId)), 1);
  });

  it('answers a retry from the write side alone, after more sends than the edit window keeps, with no read model at all', async () => {
    const { service, conversationId, ann, bob } = await setUp();
    const original = await service.conversationCommands.send(bob, conversationId, 'old', 'first', ctx);
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < RECENT_MESSAGES_MAX) await service.conversationCommands.send(ann, conversationId, `bulk-${next++}`, 'more', ctx);
      }),
    );
    assert.equal((await service.conversations.load(conversationId)).state.recent.has(original.seq), false, 'past the edit window');

    const retry = await service.conversationCommands.send(bob, conversationId, 'old', 'first', ctx);
    assert.deepEqual({ messageId: retry.messageId, seq: retry.seq, created: retry.created }, { messageId: original.messageId, seq: original.seq, created: false });

    await service.conversationCommands.removeMember(bob, conversationId, bob, ctx);
    await assert.rejects(service.conversationCommands.send(bob, conversationId, 'old', 'first', ctx), (e: DomainError) => e.code === 'not_a_member');
  });

  it('takes a clientMsgId used before the idempotency window as a new send', async () => {
    const { real, service, conversationId, ann, bob } = await setUp();
    const old = eventMetadata('dc1', ctx, undefined, new Date(Date.now() - TWO_DAYS_MS).toISOString());
    const data = { messageId: 'old-message', senderId: bob, clientMsgId: 'old', kind: 'text', text: 'two days ago', media: null };
    await real.append(conversationStream(conversationId), [{ type: 'MessageSent', data, metadata: old }], 0);
    await service.conversationCommands.send(ann, conversationId, 'now', 'today', ctx);

    const again = await service.conversationCommands.send(bob, conversationId, 'old', 'two days later', ctx);
    assert.equal(again.created, true);
    assert.notEqual(again.messageId, 'old-message');
  });
});
