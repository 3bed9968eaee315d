import { randomUUID } from 'node:crypto';
import { openSqlite } from '../../src/db/sqlite.js';
import { conversationStream } from '../../src/domain/streams.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { eventMetadata } from '../../src/commands/commandHandler.js';
import { newConversationCache } from '../../src/server.js';

export const CONVERSATION_ID = 'c1';

/** A MessageSent as another writer (another instance, the sync consumer) would append it. */
export const sentBy = (senderId: string, text: string) => ({
  type: 'MessageSent',
  data: { messageId: randomUUID(), senderId, clientMsgId: randomUUID(), kind: 'text', text, media: null },
  metadata: eventMetadata('dc1', { correlationId: randomUUID() }),
});

/** A real (in-memory SQLite) event store holding conversation c1 of ann and ben, created at revision 0. */
export async function conversationStore(): Promise<SqliteEventStore> {
  const store = new SqliteEventStore(openSqlite(':memory:'));
  const members = [
    { userId: 'ann', role: 'owner' },
    { userId: 'ben', role: 'member' },
  ];
  const data = { conversationId: CONVERSATION_ID, kind: 'group', title: 'team', createdBy: 'ann', members, homeDc: 'dc1' };
  const metadata = eventMetadata('dc1', { correlationId: randomUUID() });
  await store.append(conversationStream(CONVERSATION_ID), [{ type: 'ConversationCreated', data, metadata }], 'no_stream');
  return store;
}

/** What a fresh fold of the stream gives, without any cache. */
export const freshFold = async (store: EventStore) => (await newConversationCache(store).load(CONVERSATION_ID)).state;
