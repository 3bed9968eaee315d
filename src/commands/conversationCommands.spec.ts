import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSqlite } from '../db/sqlite.js';
import { DomainError } from '../domain/errors.js';
import type { UserEvent } from '../domain/events.js';
import { conversationStream } from '../domain/streams.js';
import type { UserState } from '../domain/user.js';
import type { EventStore, ReadStreamOptions } from '../eventstore/port.js';
import { SqliteEventStore } from '../eventstore/sqlite.js';
import { StateCache } from '../eventstore/stateCache.js';
import { ProjectionRunner } from '../projections/runner.js';
import { SqliteReadStore } from '../projections/stores/sqlite.js';
import { newConversationCache, userFold } from '../server.js';
import { eventMetadata } from './commandHandler.js';
import { ChatService } from './service.js';

const ctx = { correlationId: 'test' };
const TWO_DAYS_MS = 2 * 24 * 3600 * 1000;

/** A service over a real SQLite store that counts the reads of each stream. */
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
  const readStore = new SqliteReadStore(db);
  const service = new ChatService(store, newConversationCache(store), new StateCache<UserState, UserEvent>(store, userFold), readStore, {
    dcId: 'dc1',
    maxGroupSize: 10,
    usernameReservationTimeoutMs: 60_000,
  });
  const [ann, bob, cat] = await Promise.all(['ann', 'bob', 'cat'].map((username) => service.userCommands.register({ username, password: 'correct horse' }, ctx)));
  const { conversationId } = await service.conversationCommands.create(ann!.userId, { kind: 'group', title: 't', memberIds: [bob!.userId, cat!.userId] }, ctx);
  const project = () => new ProjectionRunner({ store: real, readStore, conversations: newConversationCache(real), options: { inboxPullThreshold: 500 } }).catchUp();
  return { real, reads, service, project, conversationId, ann: ann!.userId, bob: bob!.userId, cat: cat!.userId };
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

  it('answers a retry of a send older than the in-memory window with the original, and refuses it once the sender left', async () => {
    const { real, service, project, conversationId, ann, bob } = await setUp();
    const old = eventMetadata('dc1', ctx, undefined, new Date(Date.now() - TWO_DAYS_MS).toISOString());
    const data = { messageId: 'old-message', senderId: bob, clientMsgId: 'old', kind: 'text', text: 'two days ago', media: null };
    await real.append(conversationStream(conversationId), [{ type: 'MessageSent', data, metadata: old }], 0);
    // A newer message pushes the old one out of the window the decider remembers.
    await service.conversationCommands.send(ann, conversationId, 'now', 'today', ctx);
    await project();
    assert.equal((await service.conversations.load(conversationId)).state.recentByClientKey.size, 1);

    const retry = await service.conversationCommands.send(bob, conversationId, 'old', 'two days ago', ctx);
    assert.deepEqual({ messageId: retry.messageId, seq: retry.seq, created: retry.created }, { messageId: 'old-message', seq: 1, created: false });

    await service.conversationCommands.removeMember(bob, conversationId, bob, ctx);
    await assert.rejects(service.conversationCommands.send(bob, conversationId, 'old', 'two days ago', ctx), (e: DomainError) => e.code === 'not_a_member');
  });
});
