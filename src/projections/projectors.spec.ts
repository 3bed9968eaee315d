import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProjectorSpecification, oneMinutePerSeq as at, projectionInputs, type StreamOf } from '../../test/support/specification.js';
import { evolveConversation, initialConversationState } from '../domain/conversation.js';
import type { ConversationEvent, DomainEvent, Role, UserEvent } from '../domain/events.js';
import { conversationListItem } from '../api/views.js';
import { collectionKeys, type Collection, type ConversationDoc, type InboxEntry, type UserConversationDoc, type Write } from './model.js';
import {
  inboxRecipients,
  projectionNames,
  projectors,
  type ProjectionInput,
  type ProjectionName,
  type ProjectorOptions,
} from './projectors.js';

// ---------------------------------------------------------------------------------------------
// Helpers: one projector given a stream's events before one event, or the whole stream played
// through every projector as the runner plays it, to inspect the documents the writes add up to.
// Event `seq` of any stream happened `seq` minutes after T0.
// ---------------------------------------------------------------------------------------------

const PUSH: ProjectorOptions = { inboxPullThreshold: 500 };

type Writes = Record<ProjectionName, Write[]>;
interface Step {
  seq: number;
  event: DomainEvent;
  writes: Writes;
}

function project(input: ProjectionInput, options: ProjectorOptions): Writes {
  return Object.fromEntries(projectionNames.map((name) => [name, projectors[name](input, options)])) as Writes;
}

/** Projects the events of one stream at seqs 0, 1, 2, ... */
function play(stream: StreamOf, events: DomainEvent[], options = PUSH): Step[] {
  const steps: Step[] = [];
  for (const input of projectionInputs(stream, events)) steps.push({ seq: input.seq, event: input.event, writes: project(input, options) });
  return steps;
}
const playConversation = (conversationId: string, events: ConversationEvent[], options = PUSH) =>
  play({ kind: 'conversation', ownerId: conversationId }, events, options);
const playUser = (userId: string, events: UserEvent[]) => play({ kind: 'user', ownerId: userId }, events);

/** Given a stream's events before `seq`, when its event at `seq`: the spec of one projector. */
const whenEventOf =
  (stream: StreamOf, events: DomainEvent[]) =>
  (name: ProjectionName, seq: number) =>
    ProjectorSpecification.for(projectors[name], stream, PUSH)(events.slice(0, seq)).when(events[seq]!);

const allWrites = (steps: Step[], name?: ProjectionName) =>
  steps.flatMap((s) => (name ? s.writes[name] : projectionNames.flatMap((n) => s.writes[n])));
const writesAt = (steps: Step[], seq: number, name: ProjectionName) => steps[seq]!.writes[name];

/** Applies writes the way a read store does: upsert = setOnInsert on creation, then set; inbox appends. */
function materialize(writes: Write[]) {
  const docs = new Map<string, Record<string, unknown>>();
  const inboxes = new Map<string, InboxEntry[]>();
  for (const w of writes) {
    if (w.kind === 'inbox') {
      const list = inboxes.get(w.entry.userId) ?? [];
      list.push({ ...w.entry, userSeq: list.length + 1 });
      inboxes.set(w.entry.userId, list);
      continue;
    }
    // The scripts here erase no account; erasure.spec.ts plays scrubs through a real read store.
    if (w.kind === 'scrub') throw new Error('materialize applies no scrub');
    const id = docId(w.collection, w.key as Record<string, unknown>);
    const existing = docs.get(id);
    if (existing) Object.assign(existing, w.set);
    else docs.set(id, { ...w.key, ...w.setOnInsert, ...w.set });
  }
  return {
    doc: (collection: Collection, key: Record<string, unknown>) => docs.get(docId(collection, key)),
    inbox: (userId: string) => inboxes.get(userId) ?? [],
  };
}
const docId = (collection: Collection, key: Record<string, unknown>) =>
  JSON.stringify([collection, ...collectionKeys[collection].map((k) => key[k as string])]);

/** Users whose userConversations document a write touches. */
const membershipUsers = (writes: Write[]) =>
  writes.flatMap((w) => (w.kind === 'upsert' && w.collection === 'userConversations' ? [w.key.userId] : []));
const inboxUsers = (writes: Write[]) => writes.flatMap((w) => (w.kind === 'inbox' ? [w.entry.userId] : [])).sort();

// ---------------------------------------------------------------------------------------------
// The scripted group conversation.
// ---------------------------------------------------------------------------------------------

const G = 'g1';
const created = (conversationId: string, kind: 'group' | 'direct', members: [string, Role][]): ConversationEvent => ({
  type: 'ConversationCreated',
  data: {
    conversationId,
    kind,
    title: kind === 'group' ? 'Team' : null,
    createdBy: members[0]![0],
    members: members.map(([userId, role]) => ({ userId, role })),
    homeDc: 'dc1',
  },
});
const sent = (senderId: string, clientMsgId: string, text: string): ConversationEvent => ({
  type: 'MessageSent',
  data: { messageId: `m-${clientMsgId}`, senderId, clientMsgId, kind: 'text', text, media: null },
});

const script: ConversationEvent[] = [
  /* 0 */ created(G, 'group', [['alice', 'owner'], ['bob', 'member'], ['carol', 'member']]),
  /* 1 */ sent('alice', 'a1', 'hello'),
  /* 2 */ sent('bob', 'b1', 'hi alice'),
  /* 3 */ { type: 'MessagesDelivered', data: { userId: 'carol', upToSeq: 2 } },
  /* 4 */ { type: 'MessageRead', data: { userId: 'carol', upToSeq: 1 } },
  /* 5 */ sent('carol', 'c1', 'hey all'),
  /* 6 */ { type: 'MemberRemoved', data: { userId: 'carol', removedBy: 'alice' } },
  /* 7 */ sent('alice', 'a2', 'after carol left'),
  /* 8 */ { type: 'MessageEdited', data: { messageId: 'm-a2', seq: 7, editorId: 'alice', text: 'edited after' } },
  /* 9 */ { type: 'MessageRead', data: { userId: 'bob', upToSeq: 8 } },
  /* 10 */ { type: 'MessageRecalled', data: { messageId: 'm-a2', seq: 7, recalledBy: 'alice' } },
  /* 11 */ { type: 'MemberAdded', data: { userId: 'dave', role: 'member', addedBy: 'alice' } },
  /* 12 */ { type: 'MemberRoleChanged', data: { userId: 'dave', role: 'admin', changedBy: 'alice' } },
  /* 13 */ { type: 'ConversationUpdated', data: { title: 'Team 2', updatedBy: 'alice' } },
];
/** Bob's own stream: pins the conversation. */
const bobStream: UserEvent[] = [
  { type: 'UserRegistered', data: { userId: 'bob', username: 'bob', displayName: 'Bob', passwordHash: 'scrypt$s3cr3t-salt$s3cr3t-hash' } },
  { type: 'ConversationSettingsChanged', data: { conversationId: G, pinned: true } },
  { type: 'ProfileUpdated', data: { avatar: 'bob.png' } },
  { type: 'DeviceRegistered', data: { token: 'tok', platform: 'ios' } },
];

const whenScript = whenEventOf({ kind: 'conversation', ownerId: G }, script);
const whenBobStream = whenEventOf({ kind: 'user', ownerId: 'bob' }, bobStream);

const preview = (seq: number, clientMsgId: string, senderId: string, text: string | null, recalled = false) => ({
  seq,
  messageId: `m-${clientMsgId}`,
  senderId,
  kind: 'text' as const,
  text,
  sentAt: at(seq),
  recalled,
});

// ---------------------------------------------------------------------------------------------

describe('projector: conversations', () => {
  it('writes the whole document from the state after ConversationCreated', () => {
    whenScript('conversations', 0).then([
      {
        kind: 'upsert',
        collection: 'conversations',
        key: { conversationId: G },
        set: {
          kind: 'group',
          title: 'Team',
          avatar: null,
          announcement: null,
          lastSeq: 0,
          lastMessage: null,
          lastActivityAt: at(0),
          messageCount: 0,
          memberCount: 3,
          recalledSeqs: [],
          directMemberIds: null,
        },
        setOnInsert: { createdBy: 'alice', homeDc: 'dc1', createdAt: at(0) },
      },
    ]);
  });

  it('tracks lastSeq, messageCount and memberCount event by event', () => {
    const steps = playConversation(G, script);
    const sets = steps.map((s) => {
      const [w] = s.writes.conversations;
      assert.ok(w?.kind === 'upsert' && w.collection === 'conversations');
      return w.set;
    });
    assert.deepEqual(sets.map((s) => s.lastSeq), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    assert.deepEqual(sets.map((s) => s.messageCount), [0, 1, 2, 2, 2, 3, 3, 4, 4, 4, 4, 4, 4, 4]);
    assert.deepEqual(sets.map((s) => s.memberCount), [3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 3, 3, 3]);
  });

  it('keeps the last message preview current through an edit and a recall', () => {
    const steps = playConversation(G, script);
    const lastMessageAt = (seq: number) => {
      const [w] = writesAt(steps, seq, 'conversations');
      return w?.kind === 'upsert' && w.collection === 'conversations' ? w.set.lastMessage : undefined;
    };
    // Each write keeps the value it had when it was produced, even though the state moved on.
    assert.deepEqual(lastMessageAt(5), preview(5, 'c1', 'carol', 'hey all'));
    assert.deepEqual(lastMessageAt(7), preview(7, 'a2', 'alice', 'after carol left'));
    assert.deepEqual(lastMessageAt(8), preview(7, 'a2', 'alice', 'edited after'));
    assert.deepEqual(lastMessageAt(10), preview(7, 'a2', 'alice', null, true));
  });

  it('adds up to the final document', () => {
    const { doc } = materialize(allWrites(playConversation(G, script), 'conversations'));
    assert.deepEqual(doc('conversations', { conversationId: G }), {
      conversationId: G,
      kind: 'group',
      title: 'Team 2',
      avatar: null,
      announcement: null,
      createdBy: 'alice',
      homeDc: 'dc1',
      createdAt: at(0),
      lastSeq: 13,
      lastMessage: preview(7, 'a2', 'alice', null, true),
      lastActivityAt: at(11),
      messageCount: 4,
      memberCount: 3,
      recalledSeqs: [7],
      directMemberIds: null,
    });
  });

  it('names both members of a direct conversation, sorted', () => {
    const steps = playConversation('d1', [
      created('d1', 'direct', [['zed', 'member'], ['amy', 'member']]),
      sent('amy', 'x1', 'hi zed'),
    ]);
    const { doc } = materialize(allWrites(steps, 'conversations'));
    assert.deepEqual(doc('conversations', { conversationId: 'd1' }), {
      conversationId: 'd1',
      kind: 'direct',
      title: null,
      avatar: null,
      announcement: null,
      createdBy: 'zed',
      homeDc: 'dc1',
      createdAt: at(0),
      lastSeq: 1,
      lastMessage: preview(1, 'x1', 'amy', 'hi zed'),
      lastActivityAt: at(1),
      messageCount: 1,
      memberCount: 2,
      recalledSeqs: [],
      directMemberIds: ['amy', 'zed'],
    });
  });
});

describe('projector: userConversations', () => {
  const joinedWrite = (userId: string, role: Role, seq: number, readMessageCount: number): Write => ({
    kind: 'upsert',
    collection: 'userConversations',
    key: { userId, conversationId: G },
    set: { role, joinedSeq: seq, leftSeq: null, frozen: null, readSeq: seq, deliveredSeq: seq, readMessageCount },
    setOnInsert: { muted: false, pinned: false, archived: false },
  });
  const update = (userId: string, set: Partial<UserConversationDoc>): Write => ({
    kind: 'upsert',
    collection: 'userConversations',
    key: { userId, conversationId: G },
    set,
  });

  it('creates one membership per member of a new conversation, everything before joining read', () => {
    whenScript('userConversations', 0).then([
      joinedWrite('alice', 'owner', 0, 0),
      joinedWrite('bob', 'member', 0, 0),
      joinedWrite('carol', 'member', 0, 0),
    ]);
  });

  it('moves the sender\'s markers with their own message', () => {
    whenScript('userConversations', 1).then([update('alice', { readSeq: 1, deliveredSeq: 1, readMessageCount: 1 })]);
    whenScript('userConversations', 5).then([update('carol', { readSeq: 5, deliveredSeq: 5, readMessageCount: 3 })]);
    whenScript('userConversations', 7).then([update('alice', { readSeq: 7, deliveredSeq: 7, readMessageCount: 4 })]);
  });

  it('writes delivered and read markers with the read message count', () => {
    whenScript('userConversations', 3).then([update('carol', { deliveredSeq: 2 })]);
    // carol read up to seq 1 (one message) but had seq 2 delivered already.
    whenScript('userConversations', 4).then([update('carol', { readSeq: 1, deliveredSeq: 2, readMessageCount: 1 })]);
    // bob read up to seq 8: messages at 1, 2, 5 and 7.
    whenScript('userConversations', 9).then([update('bob', { readSeq: 8, deliveredSeq: 8, readMessageCount: 4 })]);
  });

  it('freezes the view of a removed member at their removal, with nothing left unread, and never touches it again', () => {
    whenScript('userConversations', 6).then([
      update('carol', {
        leftSeq: 6,
        readSeq: 6,
        readMessageCount: 3,
        frozen: { lastSeq: 6, lastMessage: preview(5, 'c1', 'carol', 'hey all'), lastActivityAt: at(5), messageCount: 3 },
      }),
    ]);
    const later = playConversation(G, script).filter((s) => s.seq > 6).flatMap((s) => s.writes.userConversations);
    assert.equal(membershipUsers(later).includes('carol'), false);
  });

  it('adds a later member and changes roles', () => {
    whenScript('userConversations', 11).then([joinedWrite('dave', 'member', 11, 4)]);
    whenScript('userConversations', 12).then([update('dave', { role: 'admin' })]);
  });

  it('writes nothing for events that change no membership', () => {
    // bob's message moves only bob's own markers.
    whenScript('userConversations', 2).then([update('bob', { readSeq: 2, deliveredSeq: 2, readMessageCount: 2 })]);
    for (const seq of [8, 10, 13]) whenScript('userConversations', seq).thenNothingHappened();
  });

  it('applies the user\'s own settings changes with only the fields given', () => {
    whenBobStream('userConversations', 1).then([update('bob', { pinned: true })]);
    for (const seq of [0, 2, 3]) whenBobStream('userConversations', seq).thenNothingHappened();
  });

  it('adds up to the final documents (unread = messageCount - readMessageCount)', () => {
    const writes = [...allWrites(playConversation(G, script), 'userConversations'), ...allWrites(playUser('bob', bobStream))];
    const { doc } = materialize(writes.filter((w) => w.kind === 'upsert' && w.collection === 'userConversations'));
    const membership = (userId: string) => doc('userConversations', { userId, conversationId: G });
    const settings = { muted: false, pinned: false, archived: false };
    assert.deepEqual(membership('alice'), {
      userId: 'alice', conversationId: G, role: 'owner', joinedSeq: 0, leftSeq: null, frozen: null,
      readSeq: 7, deliveredSeq: 7, readMessageCount: 4, ...settings,
    });
    assert.deepEqual(membership('bob'), {
      userId: 'bob', conversationId: G, role: 'member', joinedSeq: 0, leftSeq: null, frozen: null,
      readSeq: 8, deliveredSeq: 8, readMessageCount: 4, ...settings, pinned: true,
    });
    assert.deepEqual(membership('carol'), {
      userId: 'carol', conversationId: G, role: 'member', joinedSeq: 0, leftSeq: 6,
      frozen: { lastSeq: 6, lastMessage: preview(5, 'c1', 'carol', 'hey all'), lastActivityAt: at(5), messageCount: 3 },
      readSeq: 6, deliveredSeq: 5, readMessageCount: 3, ...settings,
    });
    assert.deepEqual(membership('dave'), {
      userId: 'dave', conversationId: G, role: 'admin', joinedSeq: 11, leftSeq: null, frozen: null,
      readSeq: 11, deliveredSeq: 11, readMessageCount: 4, ...settings,
    });
  });
});

describe('projector: messages', () => {
  const key = (seq: number) => ({ conversationId: G, seq });

  it('writes a sent message', () => {
    whenScript('messages', 1).then([
      {
        kind: 'upsert',
        collection: 'messages',
        key: key(1),
        set: {
          messageId: 'm-a1', senderId: 'alice', clientMsgId: 'a1', kind: 'text', text: 'hello',
          media: null, sentAt: at(1), editedAt: null, recalled: false,
        },
      },
    ]);
  });

  it('applies an edit and a recall to the message they name', () => {
    whenScript('messages', 8).then([
      { kind: 'upsert', collection: 'messages', key: key(7), set: { text: 'edited after', editedAt: at(8) } },
    ]);
    whenScript('messages', 10).then([
      { kind: 'upsert', collection: 'messages', key: key(7), set: { text: null, media: null, recalled: true } },
    ]);
  });

  it("writes an erased sender's message as it reads, its emptied location and edits included", () => {
    const erased: ConversationEvent[] = [
      script[0]!,
      { type: 'MessageSent', data: { messageId: 'm-l', senderId: 'alice', clientMsgId: 'l', kind: 'location', text: null, media: null, location: null, erased: true } },
      { type: 'MessageSent', data: { messageId: 'm-t', senderId: 'alice', clientMsgId: 't', kind: 'text', text: null, media: null, erased: true } },
      { type: 'MessageEdited', data: { messageId: 'm-t', seq: 2, editorId: 'alice', text: null, erased: true } },
    ];
    const whenErased = whenEventOf({ kind: 'conversation', ownerId: G }, erased);
    const sentSet = (clientMsgId: string, kind: 'location' | 'text', seq: number) => ({
      messageId: `m-${clientMsgId}`, senderId: 'alice', clientMsgId, kind, text: null, media: null, sentAt: at(seq), editedAt: null, recalled: false, erased: true as const,
    });
    whenErased('messages', 1).then([{ kind: 'upsert', collection: 'messages', key: key(1), set: { ...sentSet('l', 'location', 1), location: null } }]);
    whenErased('messages', 2).then([{ kind: 'upsert', collection: 'messages', key: key(2), set: sentSet('t', 'text', 2) }]);
    whenErased('messages', 3).then([{ kind: 'upsert', collection: 'messages', key: key(2), set: { text: null, editedAt: at(3) } }]);
  });

  it('writes only for messages and adds up to the history', () => {
    const steps = playConversation(G, script);
    const writers = steps.filter((s) => s.writes.messages.length > 0).map((s) => s.seq);
    assert.deepEqual(writers, [1, 2, 5, 7, 8, 10]);
    const { doc } = materialize(allWrites(steps, 'messages'));
    assert.deepEqual(doc('messages', key(7)), {
      conversationId: G, seq: 7, messageId: 'm-a2', senderId: 'alice', clientMsgId: 'a2', kind: 'text',
      text: null, media: null, sentAt: at(7), editedAt: at(8), recalled: true,
    });
    assert.equal(doc('messages', key(2))?.text, 'hi alice');
    assert.equal(doc('messages', key(5))?.senderId, 'carol');
  });
});

describe('projector: inbox', () => {
  it('fans every event out to the members, and a removed member only up to their removal', () => {
    const steps = playConversation(G, script);
    const everyone = ['alice', 'bob', 'carol'];
    const expected = [
      everyone, everyone, everyone, everyone, everyone, everyone, everyone, // 0..6 (6: carol's own removal)
      ['alice', 'bob'], ['alice', 'bob'], ['alice', 'bob'], ['alice', 'bob'], // 7..10
      ['alice', 'bob', 'dave'], ['alice', 'bob', 'dave'], ['alice', 'bob', 'dave'], // 11..13
    ];
    assert.deepEqual(steps.map((s) => inboxUsers(s.writes.inbox)), expected);
  });

  it('writes the event itself into each inbox entry', () => {
    const steps = playConversation(G, script);
    const carolsRemoval = writesAt(steps, 6, 'inbox').find((w) => w.kind === 'inbox' && w.entry.userId === 'carol');
    assert.deepEqual(carolsRemoval, {
      kind: 'inbox',
      entry: { userId: 'carol', conversationId: G, seq: 6, type: 'MemberRemoved', data: { userId: 'carol', removedBy: 'alice' }, at: at(6) },
    });
    const { inbox } = materialize(allWrites(steps, 'inbox'));
    assert.deepEqual(inbox('carol').map((e) => [e.userSeq, e.seq, e.type]), [
      [1, 0, 'ConversationCreated'], [2, 1, 'MessageSent'], [3, 2, 'MessageSent'], [4, 3, 'MessagesDelivered'],
      [5, 4, 'MessageRead'], [6, 5, 'MessageSent'], [7, 6, 'MemberRemoved'],
    ]);
    assert.deepEqual(inbox('dave').map((e) => e.seq), [11, 12, 13]);
  });

  it('in pull mode fans out only per-user events to that user, but ConversationCreated to all', () => {
    // Every state of the script has at least two members, so a threshold of 1 is pull mode throughout.
    const steps = playConversation(G, script, { inboxPullThreshold: 1 });
    assert.deepEqual(steps.map((s) => inboxUsers(s.writes.inbox)), [
      ['alice', 'bob', 'carol'], // 0 ConversationCreated
      [], [], // 1, 2 MessageSent
      ['carol'], ['carol'], // 3 MessagesDelivered, 4 MessageRead
      [], // 5 MessageSent
      ['carol'], // 6 MemberRemoved
      [], [], // 7 MessageSent, 8 MessageEdited
      ['bob'], // 9 MessageRead
      [], // 10 MessageRecalled
      ['dave'], ['dave'], // 11 MemberAdded, 12 MemberRoleChanged
      [], // 13 ConversationUpdated
    ]);
  });

  it('switches to pull mode only above the threshold', () => {
    const state = initialConversationState(G);
    evolveConversation(state, script[0]!, 0, at(0));
    evolveConversation(state, script[1]!, 1, at(1));
    assert.deepEqual(inboxRecipients(script[1] as ConversationEvent, state, 3).sort(), ['alice', 'bob', 'carol']);
    assert.deepEqual(inboxRecipients(script[1] as ConversationEvent, state, 2), []);
  });
});

describe('projector: users', () => {
  it('writes the public profile of a registered user, never the password hash', () => {
    whenBobStream('users', 0).then([
      {
        kind: 'upsert',
        collection: 'users',
        key: { userId: 'bob' },
        set: { username: 'bob', displayName: 'Bob', avatar: null },
        setOnInsert: { createdAt: at(0) },
      },
    ]);
    const everything = JSON.stringify(allWrites(playUser('bob', bobStream)));
    assert.equal(everything.includes('s3cr3t'), false);
    assert.equal(everything.includes('passwordHash'), false);
  });

  it('applies profile updates with only the fields given', () => {
    whenBobStream('users', 2).then([{ kind: 'upsert', collection: 'users', key: { userId: 'bob' }, set: { avatar: 'bob.png' } }]);
    const { doc } = materialize(allWrites(playUser('bob', bobStream), 'users'));
    assert.deepEqual(doc('users', { userId: 'bob' }), {
      userId: 'bob', username: 'bob', displayName: 'Bob', avatar: 'bob.png', createdAt: at(0),
    });
  });

  it('empties the profile of an erased account and marks it', () => {
    const erased: UserEvent[] = [...bobStream, { type: 'UserErased', data: { usernameFreeAt: at(30) } }];
    whenEventOf({ kind: 'user', ownerId: 'bob' }, erased)('users', bobStream.length).then([
      { kind: 'upsert', collection: 'users', key: { userId: 'bob' }, set: { username: '', displayName: '', avatar: null, erased: true } },
    ]);
  });

  it('ignores device events and conversation streams', () => {
    whenBobStream('users', 3).thenNothingHappened();
    assert.deepEqual(allWrites(playConversation(G, script), 'users'), []);
  });
});

describe('projectors: an erased account', () => {
  const erased: UserEvent[] = [...bobStream, { type: 'UserErased', data: { usernameFreeAt: at(30) } }];

  it('scrubs each read model that may hold its content, once, at UserErased', () => {
    const steps = playUser('bob', erased);
    assert.deepEqual(steps.at(-1)!.writes, {
      conversations: [{ kind: 'scrub', target: 'conversationPreviews', userId: 'bob' }],
      userConversations: [{ kind: 'scrub', target: 'frozenPreviews', userId: 'bob' }],
      messages: [{ kind: 'scrub', target: 'messages', userId: 'bob' }],
      inbox: [{ kind: 'scrub', target: 'inbox', userId: 'bob' }],
      users: [{ kind: 'upsert', collection: 'users', key: { userId: 'bob' }, set: { username: '', displayName: '', avatar: null, erased: true } }],
    });
    assert.deepEqual(allWrites(steps.slice(0, -1)).filter((w) => w.kind === 'scrub'), []);
  });
});

describe('projectors across stream kinds', () => {
  it('conversation projectors write nothing for user streams; only settings reach userConversations', () => {
    const steps = playUser('bob', bobStream);
    for (const name of ['conversations', 'messages', 'inbox'] as const) assert.deepEqual(allWrites(steps, name), [], name);
    assert.deepEqual(membershipUsers(allWrites(steps, 'userConversations')), ['bob']);
  });

  it('username reservations project to nothing', () => {
    const reservation = whenEventOf({ kind: 'username', ownerId: 'bob' }, [
      { type: 'UsernameReserved', data: { username: 'bob', userId: 'bob' } },
    ]);
    for (const name of projectionNames) reservation(name, 0).thenNothingHappened();
  });
});

describe('projectors: recalled messages in the conversation list', () => {
  const R = 'r1';
  const recallScript: ConversationEvent[] = [
    /* 0 */ created(R, 'group', [['alice', 'owner'], ['bob', 'member'], ['carol', 'member']]),
    /* 1 */ sent('alice', 'x1', 'lunch?'),
    /* 2 */ sent('alice', 'x2', 'password 1234'),
    /* 3 */ { type: 'MessageRead', data: { userId: 'bob', upToSeq: 2 } },
    /* 4 */ sent('alice', 'x3', 'at noon'),
    /* 5 */ { type: 'MemberRemoved', data: { userId: 'carol', removedBy: 'alice' } },
    /* 6 */ { type: 'MessageRecalled', data: { messageId: 'm-x3', seq: 4, recalledBy: 'alice' } },
    /* 7 */ { type: 'MessageRecalled', data: { messageId: 'm-x2', seq: 2, recalledBy: 'alice' } },
  ];
  const recalledSeqsAt = (steps: Step[], seq: number) => {
    const [w] = writesAt(steps, seq, 'conversations');
    return w?.kind === 'upsert' && w.collection === 'conversations' ? w.set.recalledSeqs : undefined;
  };
  /** The list item a user sees once every write is applied. */
  const listItem = (userId: string) => {
    const { doc } = materialize(allWrites(playConversation(R, recallScript)));
    const conversation = doc('conversations', { conversationId: R }) as unknown as ConversationDoc;
    const membership = doc('userConversations', { userId, conversationId: R }) as unknown as UserConversationDoc;
    return conversationListItem({ conversation, membership }, null);
  };

  it('keeps the recalled seqs of the whole conversation, ascending, each write with its own copy', () => {
    const steps = playConversation(R, recallScript);
    assert.deepEqual([5, 6, 7].map((seq) => recalledSeqsAt(steps, seq)), [[], [4], [2, 4]]);
  });

  it('counts no recalled message as unread', () => {
    // bob read up to seq 2; of what came after, only seq 4 was a message, and it was recalled.
    assert.equal(listItem('bob').unreadCount, 0);
    assert.equal(listItem('alice').unreadCount, 0);
  });

  it('redacts the preview a former member keeps, and leaves them nothing unread', () => {
    const carol = listItem('carol');
    assert.deepEqual(carol.lastMessage, preview(4, 'x3', 'alice', null, true));
    // carol was removed at seq 5 with messages 1, 2 and 4 unread: nobody can move her marker any more.
    assert.equal(carol.unreadCount, 0);
  });
});

describe('projectors: what a user deletes for themselves, and a group deleted for everyone', () => {
  const D = 'd1';
  const ownStream: UserEvent[] = [
    { type: 'UserRegistered', data: { userId: 'bob', username: 'bob', displayName: 'Bob', passwordHash: 'h' } },
    { type: 'MessagesHidden', data: { conversationId: D, seqs: [2, 4] } },
    { type: 'ConversationCleared', data: { conversationId: D, upToSeq: 3, messageCount: 2 } },
    { type: 'ConversationDeletedForMe', data: { conversationId: D, upToSeq: 5, messageCount: 4 } },
  ];
  const whenOwn = whenEventOf({ kind: 'user', ownerId: 'bob' }, ownStream);
  const update = (userId: string, set: Partial<UserConversationDoc>, conversationId: string): Write => ({
    kind: 'upsert',
    collection: 'userConversations',
    key: { userId, conversationId },
    set,
  });

  it('keeps each on the membership document of that conversation', () => {
    whenOwn('userConversations', 1).then([update('bob', { hiddenSeqs: [2, 4] }, D)]);
    whenOwn('userConversations', 2).then([update('bob', { clearedUpToSeq: 3, clearedMessageCount: 2 }, D)]);
    whenOwn('userConversations', 3).then([update('bob', { clearedUpToSeq: 5, clearedMessageCount: 4, removedUpToSeq: 5 }, D)]);
  });

  it("puts each in the user's own inbox, marked as their stream's, so all their devices learn it", () => {
    const steps = playUser('bob', ownStream);
    const entries = allWrites(steps, 'inbox').map((w) => (w.kind === 'inbox' ? w.entry : null));
    assert.deepEqual(
      entries.map((e) => [e?.userId, e?.conversationId, e?.seq, e?.stream, e?.type]),
      [
        ['bob', D, 1, 'user', 'MessagesHidden'],
        ['bob', D, 2, 'user', 'ConversationCleared'],
        ['bob', D, 3, 'user', 'ConversationDeletedForMe'],
      ],
    );
  });

  it('marks a group deleted for everyone on its conversation document, and tells every member', () => {
    const deleted: ConversationEvent[] = [...script.slice(0, 3), { type: 'ConversationDeleted', data: { deletedBy: 'alice' } }];
    const steps = playConversation(G, deleted);
    const { doc } = materialize(allWrites(steps, 'conversations'));
    assert.equal((doc('conversations', { conversationId: G }) as unknown as ConversationDoc).deleted, true);
    const told = writesAt(steps, 3, 'inbox').map((w) => (w.kind === 'inbox' ? w.entry.userId : null));
    assert.deepEqual(told.sort(), ['alice', 'bob', 'carol']);
  });
});
