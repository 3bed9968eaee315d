import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConversationCommand } from '../domain/commands.js';
import {
  EDIT_WINDOW_MS,
  PREVIEW_LENGTH,
  evolveConversation,
  initialConversationState,
  messagesUpTo,
  visibleUpTo,
  type ConversationState,
} from '../domain/conversation.js';
import { DomainError, type DomainErrorCode } from '../domain/errors.js';
import type { ConversationEvent, Role } from '../domain/events.js';
import { decideConversation } from './conversation.decider.js';

// ---------------------------------------------------------------------------------------------
// Helpers: events, commands and a fold that plays events at increasing seqs and given times.
// ---------------------------------------------------------------------------------------------

const CID = 'c1';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.parse('2024-03-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
/** Untimed events happen one minute per seq after T0. */
const defaultAtMs = (seq: number) => T0 + seq * MINUTE;

/** Folds events into `state` at seqs lastSeq+1, lastSeq+2, ... at `atMs` (or one minute per seq). */
function fold(events: ConversationEvent[], state = initialConversationState(CID), atMs?: number): ConversationState {
  for (const event of events) {
    const seq = state.lastSeq + 1;
    evolveConversation(state, event, seq, iso(atMs ?? defaultAtMs(seq)));
  }
  return state;
}

/** Decides a command and folds what it produced (as the command handler does). */
function run(state: ConversationState, command: ConversationCommand, atMs?: number): ConversationEvent[] {
  const events = decideConversation(state, command);
  fold(events, state, atMs);
  return events;
}

const refusedWith = (code: DomainErrorCode) => (e: unknown) => e instanceof DomainError && e.code === code;
const assertRefused = (state: ConversationState, command: ConversationCommand, code: DomainErrorCode) =>
  assert.throws(() => decideConversation(state, command), refusedWith(code));

const created = (kind: 'group' | 'direct', members: [string, Role][]): ConversationEvent => ({
  type: 'ConversationCreated',
  data: {
    conversationId: CID,
    kind,
    title: kind === 'group' ? 'Team' : null,
    createdBy: members[0]![0],
    members: members.map(([userId, role]) => ({ userId, role })),
    homeDc: 'dc1',
  },
});
const groupOf = (owner: string, ...others: string[]) =>
  created('group', [[owner, 'owner'], ...others.map((o): [string, Role] => [o, 'member'])]);
const directOf = (a: string, b: string) => created('direct', [[a, 'member'], [b, 'member']]);
const messageId = (senderId: string, clientMsgId: string) => `msg-${senderId}-${clientMsgId}`;
const sent = (senderId: string, clientMsgId: string, text = `text of ${clientMsgId}`): ConversationEvent => ({
  type: 'MessageSent',
  data: { messageId: messageId(senderId, clientMsgId), senderId, clientMsgId, kind: 'text', text, media: null },
});
const added = (userId: string, addedBy = 'alice'): ConversationEvent => ({
  type: 'MemberAdded',
  data: { userId, role: 'member', addedBy },
});
const removed = (userId: string, removedBy = 'alice'): ConversationEvent => ({
  type: 'MemberRemoved',
  data: { userId, removedBy },
});
const roleChanged = (userId: string, role: Role, changedBy = 'alice'): ConversationEvent => ({
  type: 'MemberRoleChanged',
  data: { userId, role, changedBy },
});
const recalled = (seq: number, sender: string, clientMsgId: string, recalledBy: string): ConversationEvent => ({
  type: 'MessageRecalled',
  data: { messageId: messageId(sender, clientMsgId), seq, recalledBy },
});

const send = (senderId: string, clientMsgId: string, text = 'hello'): Extract<ConversationCommand, { type: 'sendMessage' }> => ({
  type: 'sendMessage',
  senderId,
  messageId: messageId(senderId, clientMsgId),
  clientMsgId,
  text,
});
const edit = (actorId: string, seq: number, nowMs: number, text = 'edited'): ConversationCommand => ({
  type: 'editMessage',
  actorId,
  seq,
  text,
  nowMs,
});
const recall = (actorId: string, seq: number, nowMs: number): ConversationCommand => ({
  type: 'recallMessage',
  actorId,
  seq,
  nowMs,
});
const markDelivered = (userId: string, upToSeq: number): ConversationCommand => ({ type: 'markDelivered', userId, upToSeq });
const markRead = (userId: string, upToSeq: number): ConversationCommand => ({ type: 'markRead', userId, upToSeq });
const addMember = (actorId: string, userId: string, maxGroupSize = 100): ConversationCommand => ({
  type: 'addMember',
  actorId,
  userId,
  maxGroupSize,
});
const removeMember = (actorId: string, userId: string): ConversationCommand => ({ type: 'removeMember', actorId, userId });
const changeRole = (actorId: string, userId: string, role: Role): ConversationCommand => ({
  type: 'changeRole',
  actorId,
  userId,
  role,
});
const create = (
  kind: 'group' | 'direct',
  creatorId: string,
  memberIds: string[],
  maxGroupSize = 100,
): Extract<ConversationCommand, { type: 'createConversation' }> => ({
  type: 'createConversation',
  conversationId: CID,
  kind,
  title: 'Team',
  creatorId,
  memberIds,
  homeDc: 'dc1',
  maxGroupSize,
});

/** alice owner, adam and ann admins, bob and carol members (seq 0..2). */
const team = () =>
  fold([groupOf('alice', 'adam', 'ann', 'bob', 'carol'), roleChanged('adam', 'admin'), roleChanged('ann', 'admin')]);
const roleOf = (state: ConversationState, userId: string) => state.members.get(userId)?.role;

// ---------------------------------------------------------------------------------------------

describe('conversation decider: create', () => {
  it('creates a direct conversation with exactly one other member, both plain members, no title', () => {
    const events = decideConversation(initialConversationState(CID), create('direct', 'amy', ['zed']));
    assert.deepEqual(events, [
      {
        type: 'ConversationCreated',
        data: {
          conversationId: CID,
          kind: 'direct',
          title: null,
          createdBy: 'amy',
          members: [
            { userId: 'amy', role: 'member' },
            { userId: 'zed', role: 'member' },
          ],
          homeDc: 'dc1',
        },
      },
    ]);
  });

  it('ignores the creator and duplicates in the member ids of a direct conversation', () => {
    const [event] = decideConversation(initialConversationState(CID), create('direct', 'amy', ['amy', 'zed', 'zed']));
    assert.equal(event?.type, 'ConversationCreated');
    assert.deepEqual(
      event?.type === 'ConversationCreated' && event.data.members.map((m) => m.userId),
      ['amy', 'zed'],
    );
  });

  it('refuses a direct conversation without exactly one other member', () => {
    const empty = initialConversationState(CID);
    assertRefused(empty, create('direct', 'amy', []), 'validation_failed');
    assertRefused(empty, create('direct', 'amy', ['amy']), 'validation_failed');
    assertRefused(empty, create('direct', 'amy', ['zed', 'bob']), 'validation_failed');
  });

  it('creates a group with the creator as owner and deduplicated members', () => {
    const events = decideConversation(
      initialConversationState(CID),
      create('group', 'alice', ['bob', 'carol', 'bob', 'alice', 'carol']),
    );
    assert.deepEqual(events, [
      {
        type: 'ConversationCreated',
        data: {
          conversationId: CID,
          kind: 'group',
          title: 'Team',
          createdBy: 'alice',
          members: [
            { userId: 'alice', role: 'owner' },
            { userId: 'bob', role: 'member' },
            { userId: 'carol', role: 'member' },
          ],
          homeDc: 'dc1',
        },
      },
    ]);
  });

  it('allows a group of exactly the maximum size (creator included) and refuses one more', () => {
    const empty = initialConversationState(CID);
    const atMax = decideConversation(empty, create('group', 'alice', ['u1', 'u2', 'u3'], 4));
    assert.equal(atMax.length, 1);
    assertRefused(empty, create('group', 'alice', ['u1', 'u2', 'u3', 'u4'], 4), 'too_large');
    // Duplicates and the creator do not count twice.
    assert.equal(decideConversation(empty, create('group', 'alice', ['u1', 'u1', 'alice', 'u2', 'u3'], 4)).length, 1);
  });

  it('refuses to create a conversation that already exists', () => {
    assertRefused(fold([groupOf('alice', 'bob')]), create('group', 'alice', ['bob']), 'conflict');
  });

  it('refuses every other command on a conversation that does not exist', () => {
    const empty = initialConversationState(CID);
    assertRefused(empty, send('alice', 'k1'), 'not_found');
    assertRefused(empty, addMember('alice', 'bob'), 'not_found');
    assertRefused(empty, markRead('alice', 0), 'not_found');
  });

  it('evolves a created conversation: members joined at seq 0 with markers at 0, times recorded', () => {
    const state = fold([groupOf('alice', 'bob')]);
    assert.equal(state.exists, true);
    assert.equal(state.lastSeq, 0);
    assert.equal(state.kind, 'group');
    assert.equal(state.title, 'Team');
    assert.equal(state.createdBy, 'alice');
    assert.equal(state.createdAt, iso(T0));
    assert.equal(state.lastActivityAt, iso(T0));
    assert.deepEqual(state.members.get('alice'), { role: 'owner', joinedSeq: 0, deliveredSeq: 0, readSeq: 0 });
    assert.deepEqual(state.members.get('bob'), { role: 'member', joinedSeq: 0, deliveredSeq: 0, readSeq: 0 });
  });
});

describe('conversation decider: add member', () => {
  it('lets the owner and admins add a member', () => {
    const state = team();
    assert.deepEqual(decideConversation(state, addMember('alice', 'dave')), [
      { type: 'MemberAdded', data: { userId: 'dave', role: 'member', addedBy: 'alice' } },
    ]);
    assert.deepEqual(decideConversation(state, addMember('adam', 'dave')), [
      { type: 'MemberAdded', data: { userId: 'dave', role: 'member', addedBy: 'adam' } },
    ]);
  });

  it('refuses plain members (forbidden) and non-members (not_a_member)', () => {
    const state = team();
    assertRefused(state, addMember('bob', 'dave'), 'forbidden');
    assertRefused(state, addMember('stranger', 'dave'), 'not_a_member');
  });

  it('refuses adding to a direct conversation', () => {
    assertRefused(fold([directOf('amy', 'zed')]), addMember('amy', 'dave'), 'forbidden');
  });

  it('appends nothing when the user already is a member', () => {
    assert.deepEqual(decideConversation(team(), addMember('alice', 'bob')), []);
    assert.deepEqual(decideConversation(team(), addMember('alice', 'adam')), []);
  });

  it('refuses a member past the maximum group size', () => {
    const state = fold([groupOf('alice', 'bob', 'carol')]);
    assertRefused(state, addMember('alice', 'dave', 3), 'too_large');
    assert.equal(decideConversation(state, addMember('alice', 'dave', 4)).length, 1);
  });

  it('a member joining later starts with markers at the join seq', () => {
    const state = fold([groupOf('alice', 'bob'), sent('alice', 'k1'), added('dave')]);
    assert.deepEqual(state.members.get('dave'), { role: 'member', joinedSeq: 2, deliveredSeq: 2, readSeq: 2 });
    assert.equal(state.lastActivityAt, iso(defaultAtMs(2)));
  });
});

describe('conversation decider: remove member', () => {
  it('lets the owner remove members and admins', () => {
    const state = team();
    assert.deepEqual(decideConversation(state, removeMember('alice', 'bob')), [
      { type: 'MemberRemoved', data: { userId: 'bob', removedBy: 'alice' } },
    ]);
    assert.deepEqual(decideConversation(state, removeMember('alice', 'adam')), [
      { type: 'MemberRemoved', data: { userId: 'adam', removedBy: 'alice' } },
    ]);
  });

  it('lets an admin remove a plain member, but not another admin or the owner', () => {
    const state = team();
    assert.deepEqual(decideConversation(state, removeMember('adam', 'bob')), [
      { type: 'MemberRemoved', data: { userId: 'bob', removedBy: 'adam' } },
    ]);
    assertRefused(state, removeMember('adam', 'ann'), 'forbidden');
    assertRefused(state, removeMember('adam', 'alice'), 'forbidden');
  });

  it('refuses a plain member removing someone else', () => {
    assertRefused(team(), removeMember('bob', 'carol'), 'forbidden');
  });

  it('lets members and admins leave by removing themselves', () => {
    const state = team();
    assert.deepEqual(decideConversation(state, removeMember('bob', 'bob')), [
      { type: 'MemberRemoved', data: { userId: 'bob', removedBy: 'bob' } },
    ]);
    assert.deepEqual(decideConversation(state, removeMember('adam', 'adam')), [
      { type: 'MemberRemoved', data: { userId: 'adam', removedBy: 'adam' } },
    ]);
  });

  it('refuses the owner leaving (conflict): ownership must be handed over first', () => {
    const state = team();
    assertRefused(state, removeMember('alice', 'alice'), 'conflict');
    run(state, changeRole('alice', 'bob', 'owner'));
    assert.deepEqual(decideConversation(state, removeMember('alice', 'alice')), [
      { type: 'MemberRemoved', data: { userId: 'alice', removedBy: 'alice' } },
    ]);
  });

  it('answers not_found for an unknown or already removed member', () => {
    const state = team();
    assertRefused(state, removeMember('alice', 'nobody'), 'not_found');
    run(state, removeMember('alice', 'bob'));
    assertRefused(state, removeMember('alice', 'bob'), 'not_found');
  });

  it('refuses actors who are not members, and any removal in a direct conversation', () => {
    assertRefused(team(), removeMember('stranger', 'bob'), 'not_a_member');
    const direct = fold([directOf('amy', 'zed')]);
    assertRefused(direct, removeMember('amy', 'zed'), 'forbidden');
    assertRefused(direct, removeMember('amy', 'amy'), 'forbidden');
  });
});

describe('conversation decider: change role', () => {
  it('lets the owner promote and demote', () => {
    const state = team();
    assert.deepEqual(decideConversation(state, changeRole('alice', 'bob', 'admin')), [
      { type: 'MemberRoleChanged', data: { userId: 'bob', role: 'admin', changedBy: 'alice' } },
    ]);
    assert.deepEqual(decideConversation(state, changeRole('alice', 'adam', 'member')), [
      { type: 'MemberRoleChanged', data: { userId: 'adam', role: 'member', changedBy: 'alice' } },
    ]);
  });

  it('hands ownership over with two events: the new owner, then the old owner becomes admin', () => {
    const state = team();
    const events = run(state, changeRole('alice', 'bob', 'owner'));
    assert.deepEqual(events, [
      { type: 'MemberRoleChanged', data: { userId: 'bob', role: 'owner', changedBy: 'alice' } },
      { type: 'MemberRoleChanged', data: { userId: 'alice', role: 'admin', changedBy: 'alice' } },
    ]);
    assert.equal(roleOf(state, 'bob'), 'owner');
    assert.equal(roleOf(state, 'alice'), 'admin');
    const owners = [...state.members.values()].filter((m) => m.role === 'owner');
    assert.equal(owners.length, 1);
    // The former owner has lost the owner's powers.
    assertRefused(state, changeRole('alice', 'carol', 'owner'), 'forbidden');
    assertRefused(state, changeRole('alice', 'bob', 'member'), 'forbidden');
  });

  it('lets admins promote and demote members, but not touch ownership', () => {
    const state = team();
    assert.deepEqual(run(state, changeRole('adam', 'carol', 'admin')), [
      { type: 'MemberRoleChanged', data: { userId: 'carol', role: 'admin', changedBy: 'adam' } },
    ]);
    assert.deepEqual(run(state, changeRole('adam', 'carol', 'member')), [
      { type: 'MemberRoleChanged', data: { userId: 'carol', role: 'member', changedBy: 'adam' } },
    ]);
    assertRefused(state, changeRole('adam', 'carol', 'owner'), 'forbidden');
    assertRefused(state, changeRole('adam', 'alice', 'member'), 'forbidden');
  });

  it('appends nothing when the role does not change', () => {
    assert.deepEqual(decideConversation(team(), changeRole('alice', 'adam', 'admin')), []);
    assert.deepEqual(decideConversation(team(), changeRole('alice', 'alice', 'owner')), []);
  });

  it('refuses the owner changing their own role (conflict)', () => {
    assertRefused(team(), changeRole('alice', 'alice', 'admin'), 'conflict');
  });

  it('is the owner\'s alone: plain members and admins are forbidden', () => {
    const state = team();
    assertRefused(state, changeRole('bob', 'carol', 'admin'), 'forbidden');
    assertRefused(state, changeRole('adam', 'alice', 'member'), 'forbidden');
    assertRefused(state, changeRole('adam', 'bob', 'owner'), 'forbidden');
  });

  it('answers not_found for an unknown target, not_a_member for a stranger, forbidden in direct', () => {
    assertRefused(team(), changeRole('alice', 'nobody', 'admin'), 'not_found');
    assertRefused(team(), changeRole('stranger', 'bob', 'admin'), 'not_a_member');
    assertRefused(fold([directOf('amy', 'zed')]), changeRole('amy', 'zed', 'admin'), 'forbidden');
  });
});

describe('conversation decider: update conversation', () => {
  const update = (actorId: string, fields: { title?: string; avatar?: string | null; announcement?: string | null }) =>
    ({ type: 'updateConversation', actorId, ...fields }) as ConversationCommand;

  it('carries only the fields that change', () => {
    const state = team();
    assert.deepEqual(decideConversation(state, update('alice', { title: 'Team', announcement: 'Standup at 9' })), [
      { type: 'ConversationUpdated', data: { announcement: 'Standup at 9', updatedBy: 'alice' } },
    ]);
    assert.deepEqual(decideConversation(state, update('adam', { title: 'Renamed', avatar: null })), [
      { type: 'ConversationUpdated', data: { title: 'Renamed', updatedBy: 'adam' } },
    ]);
  });

  it('appends nothing when nothing changes, including after folding the same update', () => {
    const state = team();
    assert.deepEqual(decideConversation(state, update('alice', {})), []);
    assert.deepEqual(decideConversation(state, update('alice', { title: 'Team', avatar: null, announcement: null })), []);
    run(state, update('alice', { title: 'New', avatar: 'a.png' }));
    assert.equal(state.title, 'New');
    assert.equal(state.avatar, 'a.png');
    assert.deepEqual(decideConversation(state, update('alice', { title: 'New', avatar: 'a.png' })), []);
  });

  it('clears a field with null', () => {
    const state = team();
    run(state, update('alice', { avatar: 'a.png' }));
    assert.deepEqual(decideConversation(state, update('alice', { avatar: null })), [
      { type: 'ConversationUpdated', data: { avatar: null, updatedBy: 'alice' } },
    ]);
    run(state, update('alice', { avatar: null }));
    assert.equal(state.avatar, null);
    assert.equal(state.title, 'Team');
  });

  it('is for the owner and admins of groups only', () => {
    assertRefused(team(), update('bob', { title: 'Mine' }), 'forbidden');
    assertRefused(team(), update('stranger', { title: 'Mine' }), 'not_a_member');
    assertRefused(fold([directOf('amy', 'zed')]), update('amy', { title: 'Us' }), 'forbidden');
  });
});

describe('conversation decider: send', () => {
  it('sends a text message for a member', () => {
    assert.deepEqual(decideConversation(team(), send('bob', 'k1', 'hi there')), [
      {
        type: 'MessageSent',
        data: { messageId: 'msg-bob-k1', senderId: 'bob', clientMsgId: 'k1', kind: 'text', text: 'hi there', media: null },
      },
    ]);
  });

  it('refuses strangers and removed members (not_a_member)', () => {
    const state = team();
    assertRefused(state, send('stranger', 'k1'), 'not_a_member');
    run(state, removeMember('alice', 'bob'));
    assertRefused(state, send('bob', 'k1'), 'not_a_member');
  });

  it('appends nothing for a clientMsgId the same sender already used', () => {
    const state = team();
    assert.equal(run(state, send('bob', 'k1')).length, 1);
    assert.equal(state.recentByClientKey.get(`bob\u0000k1`), 3);
    // A retry (even with a fresh messageId and different text) is the same send.
    assert.deepEqual(decideConversation(state, { ...send('bob', 'k1', 'other text'), messageId: 'fresh' }), []);
    assert.equal(run(state, send('bob', 'k2')).length, 1);
  });

  it('appends the same clientMsgId from another sender', () => {
    const state = team();
    run(state, send('bob', 'k1'));
    assert.deepEqual(decideConversation(state, send('carol', 'k1', 'mine')), [
      {
        type: 'MessageSent',
        data: { messageId: 'msg-carol-k1', senderId: 'carol', clientMsgId: 'k1', kind: 'text', text: 'mine', media: null },
      },
    ]);
  });
});

describe('conversation decider: edit and recall', () => {
  /** team() then bob's message at seq 3 and carol's at seq 4, both sent at T0 + 1h. */
  const withMessages = () => fold([sent('bob', 'b1'), sent('carol', 'c1')], team(), T0 + HOUR);
  const SENT_AT = T0 + HOUR;

  it('lets the sender edit their message', () => {
    assert.deepEqual(decideConversation(withMessages(), edit('bob', 3, SENT_AT + MINUTE, 'fixed')), [
      { type: 'MessageEdited', data: { messageId: 'msg-bob-b1', seq: 3, editorId: 'bob', text: 'fixed' } },
    ]);
  });

  it('answers not_found for a seq that is not a message', () => {
    const state = withMessages();
    assertRefused(state, edit('alice', 0, SENT_AT), 'not_found');
    assertRefused(state, recall('alice', 1, SENT_AT), 'not_found');
  });

  it('refuses anyone else editing, admins and the owner included', () => {
    const state = withMessages();
    assertRefused(state, edit('carol', 3, SENT_AT), 'forbidden');
    assertRefused(state, edit('adam', 3, SENT_AT), 'forbidden');
    assertRefused(state, edit('alice', 3, SENT_AT), 'forbidden');
    assertRefused(state, edit('stranger', 3, SENT_AT), 'not_a_member');
  });

  it('lets the sender recall, and admins and the owner recall anyone\'s message', () => {
    const state = withMessages();
    assert.deepEqual(decideConversation(state, recall('bob', 3, SENT_AT)), [
      { type: 'MessageRecalled', data: { messageId: 'msg-bob-b1', seq: 3, recalledBy: 'bob' } },
    ]);
    assert.deepEqual(decideConversation(state, recall('adam', 3, SENT_AT)), [
      { type: 'MessageRecalled', data: { messageId: 'msg-bob-b1', seq: 3, recalledBy: 'adam' } },
    ]);
    assert.deepEqual(decideConversation(state, recall('alice', 4, SENT_AT)), [
      { type: 'MessageRecalled', data: { messageId: 'msg-carol-c1', seq: 4, recalledBy: 'alice' } },
    ]);
  });

  it('refuses a plain member recalling someone else\'s message', () => {
    assertRefused(withMessages(), recall('carol', 3, SENT_AT), 'forbidden');
  });

  it('allows changes up to exactly 24 hours after sending and refuses them later (conflict)', () => {
    const state = withMessages();
    assert.equal(decideConversation(state, edit('bob', 3, SENT_AT + EDIT_WINDOW_MS)).length, 1);
    assert.equal(decideConversation(state, recall('bob', 3, SENT_AT + EDIT_WINDOW_MS)).length, 1);
    assertRefused(state, edit('bob', 3, SENT_AT + EDIT_WINDOW_MS + 1), 'conflict');
    assertRefused(state, recall('bob', 3, SENT_AT + EDIT_WINDOW_MS + 1), 'conflict');
    assertRefused(state, recall('adam', 3, SENT_AT + EDIT_WINDOW_MS + 1), 'conflict');
  });

  it('refuses editing or recalling a recalled message (conflict)', () => {
    const state = withMessages();
    run(state, recall('adam', 3, SENT_AT), SENT_AT + MINUTE);
    assert.equal(state.recent.get(3)?.recalled, true);
    assertRefused(state, edit('bob', 3, SENT_AT + 2 * MINUTE), 'conflict');
    assertRefused(state, recall('bob', 3, SENT_AT + 2 * MINUTE), 'conflict');
    // The other message is untouched.
    assert.equal(decideConversation(state, edit('carol', 4, SENT_AT + 2 * MINUTE)).length, 1);
  });

  it('answers not_found for a seq past the last seq', () => {
    const state = withMessages();
    assert.equal(state.lastSeq, 4);
    assertRefused(state, edit('bob', 5, SENT_AT), 'not_found');
    assertRefused(state, recall('alice', 99, SENT_AT), 'not_found');
  });

  it('refuses a message that left the in-memory window (pruned) with conflict, not not_found', () => {
    const state = withMessages();
    fold([sent('carol', 'late')], state, SENT_AT + EDIT_WINDOW_MS + HOUR);
    assert.equal(state.recent.has(3), false);
    assertRefused(state, edit('bob', 3, SENT_AT + EDIT_WINDOW_MS + HOUR), 'conflict');
  });
});

describe('conversation decider: delivered and read markers', () => {
  /** team() then five messages from alice at seqs 3..7. */
  const withMessages = () => fold([1, 2, 3, 4, 5].map((n) => sent('alice', `a${n}`)), team());

  it('moves the delivered marker forward and appends nothing when it would not advance', () => {
    const state = withMessages();
    assert.deepEqual(run(state, markDelivered('bob', 5)), [{ type: 'MessagesDelivered', data: { userId: 'bob', upToSeq: 5 } }]);
    assert.equal(state.members.get('bob')?.deliveredSeq, 5);
    assert.equal(state.members.get('bob')?.readSeq, 0, 'delivery does not read');
    assert.deepEqual(decideConversation(state, markDelivered('bob', 5)), []);
    assert.deepEqual(decideConversation(state, markDelivered('bob', 4)), []);
  });

  it('a read past the delivered marker emits MessagesDelivered, then MessageRead', () => {
    const state = withMessages();
    assert.deepEqual(run(state, markRead('bob', 6)), [
      { type: 'MessagesDelivered', data: { userId: 'bob', upToSeq: 6 } },
      { type: 'MessageRead', data: { userId: 'bob', upToSeq: 6 } },
    ]);
    assert.equal(state.members.get('bob')?.deliveredSeq, 6);
    assert.equal(state.members.get('bob')?.readSeq, 6);
  });

  it('a read up to an already delivered seq emits only MessageRead', () => {
    const state = withMessages();
    run(state, markDelivered('bob', 7));
    assert.deepEqual(run(state, markRead('bob', 5)), [{ type: 'MessageRead', data: { userId: 'bob', upToSeq: 5 } }]);
    assert.deepEqual(state.members.get('bob'), { role: 'member', joinedSeq: 0, deliveredSeq: 7, readSeq: 5 });
  });

  it('a read that would not advance appends nothing', () => {
    const state = withMessages();
    run(state, markRead('bob', 6));
    assert.deepEqual(decideConversation(state, markRead('bob', 6)), []);
    assert.deepEqual(decideConversation(state, markRead('bob', 3)), []);
    assert.deepEqual(decideConversation(state, markRead('bob', 0)), []);
  });

  it('refuses a marker past the last seq (validation_failed) and strangers (not_a_member)', () => {
    const state = withMessages();
    assert.equal(state.lastSeq, 7);
    assertRefused(state, markRead('bob', 8), 'validation_failed');
    assertRefused(state, markDelivered('bob', 8), 'validation_failed');
    assertRefused(state, markRead('stranger', 3), 'not_a_member');
    assert.equal(decideConversation(state, markRead('bob', 7)).length, 2);
  });

  it('sending marks the sender read and delivered up to their own message, nobody else', () => {
    const state = withMessages();
    run(state, send('bob', 'b1'));
    assert.deepEqual(state.members.get('bob'), { role: 'member', joinedSeq: 0, deliveredSeq: 8, readSeq: 8 });
    assert.deepEqual(state.members.get('carol'), { role: 'member', joinedSeq: 0, deliveredSeq: 0, readSeq: 0 });
    assert.deepEqual(decideConversation(state, markRead('bob', 8)), []);
  });

  it('keeps readSeq <= deliveredSeq <= lastSeq for every member through a long mixed script', () => {
    // Deterministic pseudo-random script of sends and marker commands (xorshift).
    let seed = 0x2f6b1d;
    const rnd = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const people = ['alice', 'adam', 'ann', 'bob', 'carol'];
    const state = team();
    let appended = 0;
    for (let i = 0; i < 400; i++) {
      const who = people[rnd(people.length)]!;
      const choice = rnd(3);
      const upTo = rnd(state.lastSeq + 1);
      const command = choice === 0 ? send(who, `k${i}`) : choice === 1 ? markDelivered(who, upTo) : markRead(who, upTo);
      const before = state.members.get(who)!;
      const { deliveredSeq, readSeq } = before;
      const events = run(state, command);
      appended += events.length;
      if (choice !== 0) {
        // Markers only ever move forward.
        assert.ok(state.members.get(who)!.deliveredSeq >= deliveredSeq);
        assert.ok(state.members.get(who)!.readSeq >= readSeq);
        assert.equal(events.length === 0, choice === 1 ? upTo <= deliveredSeq : upTo <= readSeq);
      }
      for (const [userId, m] of state.members) {
        assert.ok(m.readSeq <= m.deliveredSeq, `${userId}: readSeq ${m.readSeq} > deliveredSeq ${m.deliveredSeq}`);
        assert.ok(m.deliveredSeq <= state.lastSeq, `${userId}: deliveredSeq ${m.deliveredSeq} > lastSeq ${state.lastSeq}`);
      }
    }
    assert.ok(appended > 100, 'the script exercised the markers');
  });
});

describe('conversation evolve', () => {
  it('tracks lastSeq, the message seqs and the last message', () => {
    const state = fold([groupOf('alice', 'bob'), sent('alice', 'a1', 'first'), added('carol'), sent('bob', 'b1', 'second')]);
    assert.equal(state.lastSeq, 3);
    assert.deepEqual(state.messageSeqs, [1, 3]);
    assert.deepEqual(state.lastMessage, {
      seq: 3,
      messageId: 'msg-bob-b1',
      senderId: 'bob',
      kind: 'text',
      text: 'second',
      sentAt: iso(defaultAtMs(3)),
      recalled: false,
    });
    assert.equal(state.lastActivityAt, iso(defaultAtMs(3)));
  });

  it('truncates the last message preview, edits it only when it is the last message, blanks it on recall', () => {
    const long = 'x'.repeat(PREVIEW_LENGTH + 50);
    const state = fold([groupOf('alice', 'bob'), sent('alice', 'a1', 'first'), sent('bob', 'b1', long)]);
    assert.equal(state.lastMessage?.text, 'x'.repeat(PREVIEW_LENGTH));
    fold([{ type: 'MessageEdited', data: { messageId: 'msg-alice-a1', seq: 1, editorId: 'alice', text: 'not last' } }], state);
    assert.equal(state.lastMessage?.seq, 2);
    assert.equal(state.lastMessage?.text, 'x'.repeat(PREVIEW_LENGTH));
    fold([{ type: 'MessageEdited', data: { messageId: 'msg-bob-b1', seq: 2, editorId: 'bob', text: 'short now' } }], state);
    assert.equal(state.lastMessage?.text, 'short now');
    fold([recalled(2, 'bob', 'b1', 'alice')], state);
    assert.equal(state.lastMessage?.text, null);
    assert.equal(state.lastMessage?.recalled, true);
    assert.equal(state.lastMessage?.messageId, 'msg-bob-b1');
  });

  it('messagesUpTo counts the messages at or before a seq', () => {
    // Messages at seqs 1, 2, 4 and 6; other events at 0, 3 and 5.
    const state = fold([
      groupOf('alice', 'bob'),
      sent('alice', 'a1'),
      sent('bob', 'b1'),
      added('carol'),
      sent('carol', 'c1'),
      roleChanged('carol', 'admin'),
      sent('alice', 'a2'),
    ]);
    assert.deepEqual(state.messageSeqs, [1, 2, 4, 6]);
    const counts = [-1, 0, 1, 2, 3, 4, 5, 6, 7, 1000].map((seq) => messagesUpTo(state, seq));
    assert.deepEqual(counts, [0, 0, 1, 2, 2, 3, 3, 4, 4, 4]);
  });

  it('records a removed member in leftSeqs with their removal seq; visibleUpTo stops there', () => {
    const state = fold([groupOf('alice', 'bob', 'carol'), sent('alice', 'a1'), removed('carol'), sent('bob', 'b1'), sent('alice', 'a2')]);
    assert.equal(state.members.has('carol'), false);
    assert.equal(state.leftSeqs.get('carol'), 2);
    assert.equal(visibleUpTo(state, 'carol'), 2);
    assert.equal(visibleUpTo(state, 'bob'), 4);
    assert.equal(visibleUpTo(state, 'stranger'), null);
  });

  it('a re-added member sees everything again and leaves leftSeqs', () => {
    const state = fold([groupOf('alice', 'bob', 'carol'), removed('carol'), sent('alice', 'a1'), added('carol'), sent('bob', 'b1')]);
    assert.equal(state.leftSeqs.has('carol'), false);
    assert.equal(visibleUpTo(state, 'carol'), 4);
    assert.deepEqual(state.members.get('carol'), { role: 'member', joinedSeq: 3, deliveredSeq: 3, readSeq: 3 });
  });

  it('prunes messages older than the edit window from recent (and their idempotency keys)', () => {
    const state = fold([groupOf('alice', 'bob')], undefined, T0);
    fold([sent('alice', 'old')], state, T0); // seq 1
    fold([sent('bob', 'mid')], state, T0 + HOUR); // seq 2
    assert.deepEqual([...state.recent.keys()], [1, 2]);
    // seq 3, 25h after T0: seq 1 is 25h old (out), seq 2 exactly 24h old (kept).
    fold([sent('bob', 'new')], state, T0 + 25 * HOUR);
    assert.deepEqual([...state.recent.keys()], [2, 3]);
    assert.equal(state.recentByClientKey.has('alice\u0000old'), false);
    assert.equal(state.recentByClientKey.get('bob\u0000mid'), 2);
    assert.equal(state.recentByClientKey.get('bob\u0000new'), 3);
    assert.deepEqual(state.messageSeqs, [1, 2, 3], 'pruning does not forget message seqs');
    // One millisecond later seq 2 leaves the window too.
    fold([sent('alice', 'newer')], state, T0 + 25 * HOUR + 1);
    assert.deepEqual([...state.recent.keys()], [3, 4]);
    // Out of the window the decider no longer knows the key: deduplication there is the read model's job.
    assert.equal(decideConversation(state, send('alice', 'old')).length, 1);
    assert.deepEqual(decideConversation(state, send('bob', 'new')), []);
  });

  it('keeps recent messages when nothing new is sent, whatever the clock says', () => {
    const state = fold([groupOf('alice', 'bob'), sent('alice', 'a1')], undefined, T0);
    fold([roleChanged('bob', 'admin')], state, T0 + 3 * EDIT_WINDOW_MS);
    assert.deepEqual([...state.recent.keys()], [1]);
    assert.deepEqual(decideConversation(state, send('alice', 'a1')), [], 'a late retry is still recognised');
  });
});
