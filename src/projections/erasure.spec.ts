import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { oneMinutePerSeq as at } from '../../test/support/specification.js';
import { openSqlite, type SqliteDatabase } from '../db/sqlite.js';
import { evolveConversation, initialConversationState, type ConversationState } from '../domain/conversation.js';
import type { ConversationEvent, DomainEvent, Media } from '../domain/events.js';
import { conversationStream, userStream } from '../domain/streams.js';
import { erasedEventData, ownerOf } from '../privacy/erasure.js';
import type { WriteBatch } from './model.js';
import { projectionNames, projectors, type ProjectorOptions } from './projectors.js';
import { SqliteReadStore } from './stores/sqlite.js';
import { conversationListItem, messageItem } from '../api/views.js';
import * as answers from '../api/responses.js';

// ---------------------------------------------------------------------------------------------
// The rule: the live read models, scrubbed at UserErased, hold exactly what projecting the erased
// events from position 0 gives, document for document and position for position. Both sides are
// played through a real SQLite read store.
// ---------------------------------------------------------------------------------------------

const OPTIONS: ProjectorOptions = { inboxPullThreshold: 500 };
const ERASED = 'zoe';

interface Recorded {
  kind: 'conversation' | 'user';
  ownerId: string;
  event: DomainEvent;
}

const inConversation = (conversationId: string, ...events: ConversationEvent[]): Recorded[] =>
  events.map((event) => ({ kind: 'conversation', ownerId: conversationId, event }));
const inUserStream = (userId: string, ...events: DomainEvent[]): Recorded[] => events.map((event) => ({ kind: 'user', ownerId: userId, event }));

const group = (conversationId: string, kind: 'group' | 'direct', members: string[]): ConversationEvent => ({
  type: 'ConversationCreated',
  data: {
    conversationId,
    kind,
    title: kind === 'group' ? 'Team' : null,
    createdBy: members[0]!,
    members: members.map((userId, i) => ({ userId, role: i === 0 ? 'owner' : 'member' })),
    homeDc: 'dc1',
  },
});
const message = (senderId: string, clientMsgId: string, content: { text?: string; media?: Media; location?: { lat: number; lng: number; name?: string } }): ConversationEvent => ({
  type: 'MessageSent',
  data: {
    messageId: `m-${clientMsgId}`,
    senderId,
    clientMsgId,
    kind: content.media ? 'media' : content.location ? 'location' : 'text',
    text: content.text ?? null,
    media: content.media ?? null,
    ...(content.location ? { location: content.location } : {}),
  },
});
const edited = (editorId: string, clientMsgId: string, seq: number, text: string): ConversationEvent => ({
  type: 'MessageEdited',
  data: { messageId: `m-${clientMsgId}`, seq, editorId, text },
});
const recalled = (userId: string, clientMsgId: string, seq: number): ConversationEvent => ({
  type: 'MessageRecalled',
  data: { messageId: `m-${clientMsgId}`, seq, recalledBy: userId },
});
const removed = (userId: string): ConversationEvent => ({ type: 'MemberRemoved', data: { userId, removedBy: 'alice' } });
const read = (userId: string, upToSeq: number): ConversationEvent => ({ type: 'MessageRead', data: { userId, upToSeq } });
const registered = (userId: string, displayName: string): DomainEvent => ({
  type: 'UserRegistered',
  data: { userId, username: userId, displayName, passwordHash: 'scrypt$salt$hash' },
});

/** What the erased account's secrets look like, so a test can tell none is left. */
const SECRET = 'zoe-secret';
const photo: Media = { hash: 'h-photo', mime: 'image/png', size: 10, name: `${SECRET}.png` };

const beforeErase: Recorded[] = [
  ...inUserStream('alice', registered('alice', 'Alice')),
  ...inUserStream(ERASED, registered(ERASED, `Zoe ${SECRET}`), { type: 'ProfileUpdated', data: { displayName: 'Z', avatar: `${SECRET}.jpg` } }),
  ...inConversation(
    'team',
    /* 0 */ group('team', 'group', ['alice', ERASED, 'bob', 'carol']),
    /* 1 */ message(ERASED, 'z1', { text: `${SECRET} text` }),
    /* 2 */ message(ERASED, 'z2', { text: `${SECRET} caption`, media: photo }),
    // carol keeps the media preview, bob the recalled one.
    /* 3 */ removed('carol'),
    /* 4 */ message(ERASED, 'z4', { location: { lat: 1, lng: 2, name: `${SECRET} home` } }),
    /* 5 */ message(ERASED, 'z5', { text: `${SECRET} draft` }),
    /* 6 */ edited(ERASED, 'z5', 5, `${SECRET} final`),
    /* 7 */ message(ERASED, 'z7', { text: `${SECRET} regret` }),
    /* 8 */ recalled(ERASED, 'z7', 7),
    /* 9 */ removed('bob'),
    /* 10 */ message('alice', 'a10', { text: 'alice stays' }),
    /* 11 */ message(ERASED, 'z11', { text: `${SECRET} last word` }),
  ),
  ...inConversation('direct', group('direct', 'direct', ['alice', ERASED]), message('alice', 'a1', { text: 'hi zoe' }), message(ERASED, 'z2', { text: SECRET }), edited(ERASED, 'z2', 2, `${SECRET}!`)),
  ...inConversation('where', group('where', 'group', ['alice', ERASED]), message(ERASED, 'w1', { location: { lat: 3, lng: 4 } })),
];
const erase: Recorded[] = inUserStream(ERASED, { type: 'UserErased', data: { usernameFreeAt: '2030-01-01T00:00:00.000Z' } });
const afterErase: Recorded[] = inConversation('team', read('alice', 11));

/** An event as the store reads it once its owner is erased. */
function asErased(recorded: Recorded): Recorded {
  const { kind, ownerId, event } = recorded;
  const streamId = kind === 'conversation' ? conversationStream(ownerId) : userStream(ownerId);
  if (ownerOf(streamId, event.type, event.data) !== ERASED) return recorded;
  return { ...recorded, event: { type: event.type, data: erasedEventData(event.type, event.data as Record<string, unknown>) } as DomainEvent };
}

/**
 * The runner's writes for events at positions 1, 2, ... Each conversation's state is folded from
 * the events as given, except that at UserErased the states are folded again from the erased
 * events, as a conversation cache must after an erase.
 */
function project(history: Recorded[]): WriteBatch['writes'] {
  const seqs = new Map<string, number>();
  let states = new Map<string, ConversationState>();
  const writes: WriteBatch['writes'] = [];
  for (const [i, recorded] of history.entries()) {
    const { kind, ownerId, event } = recorded;
    const streamKey = `${kind}-${ownerId}`;
    const seq = (seqs.get(streamKey) ?? -1) + 1;
    seqs.set(streamKey, seq);
    if (event.type === 'UserErased') states = foldedStates(history.slice(0, i).map(asErased));
    let conversation: ConversationState | null = null;
    if (kind === 'conversation') {
      conversation = states.get(ownerId) ?? initialConversationState(ownerId);
      states.set(ownerId, evolveConversation(conversation, event as ConversationEvent, seq, at(seq)));
    }
    const input = { event, streamKind: kind, ownerId, seq, at: at(seq), conversation };
    for (const name of projectionNames) {
      for (const write of projectors[name](input, OPTIONS)) writes.push({ projection: name, position: i + 1, write });
    }
  }
  return writes;
}

function foldedStates(history: Recorded[]): Map<string, ConversationState> {
  const states = new Map<string, ConversationState>();
  const seqs = new Map<string, number>();
  for (const { kind, ownerId, event } of history) {
    if (kind !== 'conversation') continue;
    const seq = (seqs.get(ownerId) ?? -1) + 1;
    seqs.set(ownerId, seq);
    states.set(ownerId, evolveConversation(states.get(ownerId) ?? initialConversationState(ownerId), event as ConversationEvent, seq, at(seq)));
  }
  return states;
}

const databases: SqliteDatabase[] = [];
after(() => databases.forEach((db) => db.close()));

/** Applies the writes in batches of `batchSize` events to a fresh read store. */
async function readStoreWith(writes: WriteBatch['writes'], batchSize: number) {
  const db = openSqlite(':memory:');
  databases.push(db);
  const store = new SqliteReadStore(db);
  const last = writes.at(-1)!.position;
  for (let from = 0; from < last; from += batchSize) {
    const batch = writes.filter((w) => w.position > from && w.position <= from + batchSize);
    await store.apply({ writes: batch, checkpoints: Object.fromEntries(projectionNames.map((name) => [name, Math.min(from + batchSize, last)])) });
  }
  return store;
}
const readModels = async (writes: WriteBatch['writes'], batchSize: number) => (await readStoreWith(writes, batchSize)).dump();

const live = [...beforeErase, ...erase, ...afterErase];
const rebuilt = live.map(asErased);
const EVERY_EVENT = 1;
const ALL_AT_ONCE = Number.MAX_SAFE_INTEGER;

describe('read models of an erased account', () => {
  it('live and scrubbed at UserErased equal the projection of the erased events, one event per batch', async () => {
    assert.deepEqual(await readModels(project(live), EVERY_EVENT), await readModels(project(rebuilt), ALL_AT_ONCE));
  });

  it('scrubs what the same batch projected before the UserErased', async () => {
    assert.deepEqual(await readModels(project(live), ALL_AT_ONCE), await readModels(project(rebuilt), EVERY_EVENT));
  });

  it("leaves nothing of the account's content and profile, and everyone else's as it was", async () => {
    const documents = await readModels(project(live), EVERY_EVENT);
    assert.equal(JSON.stringify(documents).includes(SECRET), false, JSON.stringify(documents, null, 1));
    const text = (conversationId: string, seq: number) =>
      (documents.messages as { conversationId: string; seq: number; text: string | null }[]).find((m) => m.conversationId === conversationId && m.seq === seq)?.text;
    assert.equal(text('team', 10), 'alice stays');
    assert.equal(text('direct', 1), 'hi zoe');
  });

  it('marks every message, preview, inbox copy and the profile as erased', async () => {
    const documents = await readModels(project(live), EVERY_EVENT);
    const messages = documents.messages as { senderId: string; kind: string; location?: unknown; erased?: true; recalled: boolean }[];
    assert.deepEqual(
      messages.filter((m) => m.senderId === ERASED).map((m) => [m.kind, m.erased, 'location' in m ? m.location : 'none', m.recalled]),
      [
        // direct
        ['text', true, 'none', false],
        // team
        ['text', true, 'none', false],
        ['media', true, 'none', false],
        ['location', true, null, false],
        ['text', true, 'none', false],
        ['text', true, 'none', true],
        ['text', true, 'none', false],
        // where
        ['location', true, null, false],
      ],
    );
    const previews = (documents.conversations as { lastMessage: { senderId: string; erased?: true } }[]).map((c) => c.lastMessage);
    assert.deepEqual(previews.map((p) => [p.senderId, p.erased]), [[ERASED, true], [ERASED, true], [ERASED, true]]);
    const frozen = (documents.userConversations as { userId: string; frozen: { lastMessage: object } | null }[]).filter((m) => m.frozen);
    assert.deepEqual(
      frozen.map((m) => [m.userId, m.frozen!.lastMessage]),
      [
        ['bob', { seq: 7, messageId: 'm-z7', senderId: ERASED, kind: 'text', text: null, sentAt: at(7), recalled: true, erased: true }],
        ['carol', { seq: 2, messageId: 'm-z2', senderId: ERASED, kind: 'media', text: null, sentAt: at(2), recalled: false, erased: true }],
      ],
    );
    const inboxCopies = (documents.inbox as { type: string; data: { senderId?: string; editorId?: string; erased?: true } }[]).filter(
      (e) => e.data.senderId === ERASED || e.data.editorId === ERASED,
    );
    assert.ok(inboxCopies.length > 0);
    assert.ok(inboxCopies.every((e) => e.data.erased === true), JSON.stringify(inboxCopies));
    const zoe = (documents.users as { userId: string }[]).find((u) => u.userId === ERASED);
    assert.deepEqual(zoe, { _pos: live.length - afterErase.length, userId: ERASED, username: '', displayName: '', avatar: null, createdAt: at(0), erased: true });
  });
});

describe('answers about an erased account', () => {
  it('mark its messages, previews and direct conversations as erased, in the declared shapes', async () => {
    const store = await readStoreWith(project(live), EVERY_EVENT);
    const items = (await store.listMessages('team', { maxSeq: 100, limit: 100 })).map(messageItem);
    assert.deepEqual(answers.messageList.parse({ items }).items, items);
    assert.deepEqual(
      items.map((m) => [m.seq, m.erased ?? false, m.text]),
      [[1, true, null], [2, true, null], [4, true, null], [5, true, null], [7, true, null], [10, false, 'alice stays'], [11, true, null]],
    );
    assert.equal('location' in items[2]!, false, "an erased location's emptied location is no location");
    const [zoe] = await store.getUsers([ERASED]);
    const list = (await store.listConversations('alice', { limit: 10 })).map((item) =>
      item.conversation.kind === 'direct' ? conversationListItem(item, zoe!.displayName, zoe!.erased === true) : conversationListItem(item, null),
    );
    assert.deepEqual(answers.conversationList.parse({ items: list, nextCursor: null }).items, list);
    assert.deepEqual(
      list.map((c) => [c.conversationId, c.title, c.peerErased ?? false, c.lastMessage?.erased]),
      [['team', 'Team', false, true], ['direct', '', true, true], ['where', 'Team', false, true]],
    );
  });
});
