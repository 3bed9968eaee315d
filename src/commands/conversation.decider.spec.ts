import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeciderSpecification, MINUTE, T0, happenedAt, iso, oneMinutePerSeq } from '../../test/support/specification.js';
import type { ConversationCommand } from '../domain/commands.js';
import { EDIT_WINDOW_MS, PREVIEW_LENGTH, messagesUpTo, visibleUpTo, type ConversationState } from '../domain/conversation.js';
import type { ConversationEvent, Role } from '../domain/events.js';
import { conversationDecider } from './conversation.decider.js';

// ---------------------------------------------------------------------------------------------
// Events and commands. Untimed events happen one minute per seq after T0.
// ---------------------------------------------------------------------------------------------

const CID = 'c1';
const HOUR = 60 * MINUTE;
const given = DeciderSpecification.for(conversationDecider, { id: CID });

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
const sent = (senderId: string, clientMsgId: string, text = 'hello'): ConversationEvent => ({
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
const updated = (data: { title?: string; avatar?: string | null; announcement?: string | null; updatedBy: string }): ConversationEvent => ({
  type: 'ConversationUpdated',
  data,
});
const edited = (seq: number, sender: string, clientMsgId: string, text = 'edited'): ConversationEvent => ({
  type: 'MessageEdited',
  data: { messageId: messageId(sender, clientMsgId), seq, editorId: sender, text },
});
const recalled = (seq: number, sender: string, clientMsgId: string, recalledBy: string): ConversationEvent => ({
  type: 'MessageRecalled',
  data: { messageId: messageId(sender, clientMsgId), seq, recalledBy },
});
const delivered = (userId: string, upToSeq: number): ConversationEvent => ({ type: 'MessagesDelivered', data: { userId, upToSeq } });
const read = (userId: string, upToSeq: number): ConversationEvent => ({ type: 'MessageRead', data: { userId, upToSeq } });

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
const teamHistory = [groupOf('alice', 'adam', 'ann', 'bob', 'carol'), roleChanged('adam', 'admin'), roleChanged('ann', 'admin')];
const team = given(teamHistory);
const direct = given([directOf('amy', 'zed')]);
const roleOf = (state: ConversationState, userId: string) => state.members.get(userId)?.role;
/** alice hands ownership to bob: bob first, then alice becomes admin. */
const handedOverToBob = [roleChanged('bob', 'owner'), roleChanged('alice', 'admin')];

// ---------------------------------------------------------------------------------------------

describe('conversation decider: create', () => {
  it('creates a direct conversation with exactly one other member, both plain members, no title', () => {
    given([])
      .when(create('direct', 'amy', ['zed']))
      .then([
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
    given([]).when(create('direct', 'amy', ['amy', 'zed', 'zed'])).then([directOf('amy', 'zed')]);
  });

  it('refuses a direct conversation without exactly one other member', () => {
    given([]).when(create('direct', 'amy', [])).thenThrows('validation_failed');
    given([]).when(create('direct', 'amy', ['amy'])).thenThrows('validation_failed');
    given([]).when(create('direct', 'amy', ['zed', 'bob'])).thenThrows('validation_failed');
  });

  it('creates a group with the creator as owner and deduplicated members', () => {
    given([])
      .when(create('group', 'alice', ['bob', 'carol', 'bob', 'alice', 'carol']))
      .then([
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
    given([]).when(create('group', 'alice', ['u1', 'u2', 'u3'], 4)).then([groupOf('alice', 'u1', 'u2', 'u3')]);
    given([]).when(create('group', 'alice', ['u1', 'u2', 'u3', 'u4'], 4)).thenThrows('too_large');
    // Duplicates and the creator do not count twice.
    given([]).when(create('group', 'alice', ['u1', 'u1', 'alice', 'u2', 'u3'], 4)).then([groupOf('alice', 'u1', 'u2', 'u3')]);
  });

  it('refuses to create a conversation that already exists', () => {
    given([groupOf('alice', 'bob')]).when(create('group', 'alice', ['bob'])).thenThrows('conflict');
  });

  it('refuses every other command on a conversation that does not exist', () => {
    given([]).when(send('alice', 'k1')).thenThrows('not_found');
    given([]).when(addMember('alice', 'bob')).thenThrows('not_found');
    given([]).when(markRead('alice', 0)).thenThrows('not_found');
  });

  it('evolves a created conversation: members joined at seq 0 with markers at 0, times recorded', () => {
    const { state } = given([groupOf('alice', 'bob')]);
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
    team.when(addMember('alice', 'dave')).then([added('dave', 'alice')]);
    team.when(addMember('adam', 'dave')).then([added('dave', 'adam')]);
  });

  it('refuses plain members (forbidden) and non-members (not_a_member)', () => {
    team.when(addMember('bob', 'dave')).thenThrows('forbidden');
    team.when(addMember('stranger', 'dave')).thenThrows('not_a_member');
  });

  it('refuses adding to a direct conversation', () => {
    direct.when(addMember('amy', 'dave')).thenThrows('forbidden');
  });

  it('appends nothing when the user already is a member', () => {
    team.when(addMember('alice', 'bob')).thenNothingHappened();
    team.when(addMember('alice', 'adam')).thenNothingHappened();
  });

  it('refuses a member past the maximum group size', () => {
    const trio = given([groupOf('alice', 'bob', 'carol')]);
    trio.when(addMember('alice', 'dave', 3)).thenThrows('too_large');
    trio.when(addMember('alice', 'dave', 4)).then([added('dave')]);
  });

  it('a member joining later starts with markers at the join seq', () => {
    const { state } = given([groupOf('alice', 'bob'), sent('alice', 'k1'), added('dave')]);
    assert.deepEqual(state.members.get('dave'), { role: 'member', joinedSeq: 2, deliveredSeq: 2, readSeq: 2 });
    assert.equal(state.lastActivityAt, oneMinutePerSeq(2));
  });
});

describe('conversation decider: remove member', () => {
  it('lets the owner remove members and admins', () => {
    team.when(removeMember('alice', 'bob')).then([removed('bob', 'alice')]);
    team.when(removeMember('alice', 'adam')).then([removed('adam', 'alice')]);
  });

  it('lets an admin remove a plain member, but not another admin or the owner', () => {
    team.when(removeMember('adam', 'bob')).then([removed('bob', 'adam')]);
    team.when(removeMember('adam', 'ann')).thenThrows('forbidden');
    team.when(removeMember('adam', 'alice')).thenThrows('forbidden');
  });

  it('refuses a plain member removing someone else', () => {
    team.when(removeMember('bob', 'carol')).thenThrows('forbidden');
  });

  it('lets members and admins leave by removing themselves', () => {
    team.when(removeMember('bob', 'bob')).then([removed('bob', 'bob')]);
    team.when(removeMember('adam', 'adam')).then([removed('adam', 'adam')]);
  });

  it('refuses the owner leaving (conflict): ownership must be handed over first', () => {
    team.when(removeMember('alice', 'alice')).thenThrows('conflict');
    team
      .when(changeRole('alice', 'bob', 'owner'))
      .then(handedOverToBob)
      .when(removeMember('alice', 'alice'))
      .then([removed('alice', 'alice')]);
  });

  it('answers not_found for an unknown or already removed member', () => {
    team.when(removeMember('alice', 'nobody')).thenThrows('not_found');
    team.when(removeMember('alice', 'bob')).then([removed('bob')]).when(removeMember('alice', 'bob')).thenThrows('not_found');
  });

  it('refuses actors who are not members, and any removal in a direct conversation', () => {
    team.when(removeMember('stranger', 'bob')).thenThrows('not_a_member');
    direct.when(removeMember('amy', 'zed')).thenThrows('forbidden');
    direct.when(removeMember('amy', 'amy')).thenThrows('forbidden');
  });
});

describe('conversation decider: change role', () => {
  it('lets the owner promote and demote', () => {
    team.when(changeRole('alice', 'bob', 'admin')).then([roleChanged('bob', 'admin')]);
    team.when(changeRole('alice', 'adam', 'member')).then([roleChanged('adam', 'member')]);
  });

  it('hands ownership over with two events: the new owner, then the old owner becomes admin', () => {
    const handedOver = team.when(changeRole('alice', 'bob', 'owner')).then(handedOverToBob);
    assert.equal(roleOf(handedOver.state, 'bob'), 'owner');
    assert.equal(roleOf(handedOver.state, 'alice'), 'admin');
    const owners = [...handedOver.state.members.values()].filter((m) => m.role === 'owner');
    assert.equal(owners.length, 1);
    // The former owner has lost the owner's powers.
    handedOver.when(changeRole('alice', 'carol', 'owner')).thenThrows('forbidden');
    handedOver.when(changeRole('alice', 'bob', 'member')).thenThrows('forbidden');
  });

  it('lets admins promote and demote members, but not touch ownership', () => {
    const afterBoth = team
      .when(changeRole('adam', 'carol', 'admin'))
      .then([roleChanged('carol', 'admin', 'adam')])
      .when(changeRole('adam', 'carol', 'member'))
      .then([roleChanged('carol', 'member', 'adam')]);
    afterBoth.when(changeRole('adam', 'carol', 'owner')).thenThrows('forbidden');
    afterBoth.when(changeRole('adam', 'alice', 'member')).thenThrows('forbidden');
  });

  it('appends nothing when the role does not change', () => {
    team.when(changeRole('alice', 'adam', 'admin')).thenNothingHappened();
    team.when(changeRole('alice', 'alice', 'owner')).thenNothingHappened();
  });

  it('refuses the owner changing their own role (conflict)', () => {
    team.when(changeRole('alice', 'alice', 'admin')).thenThrows('conflict');
  });

  it('is the owner\'s alone: plain members and admins are forbidden', () => {
    team.when(changeRole('bob', 'carol', 'admin')).thenThrows('forbidden');
    team.when(changeRole('adam', 'alice', 'member')).thenThrows('forbidden');
    team.when(changeRole('adam', 'bob', 'owner')).thenThrows('forbidden');
  });

  it('answers not_found for an unknown target, not_a_member for a stranger, forbidden in direct', () => {
    team.when(changeRole('alice', 'nobody', 'admin')).thenThrows('not_found');
    team.when(changeRole('stranger', 'bob', 'admin')).thenThrows('not_a_member');
    direct.when(changeRole('amy', 'zed', 'admin')).thenThrows('forbidden');
  });
});

describe('conversation decider: update conversation', () => {
  const update = (actorId: string, fields: { title?: string; avatar?: string | null; announcement?: string | null }) =>
    ({ type: 'updateConversation', actorId, ...fields }) as ConversationCommand;

  it('carries only the fields that change', () => {
    team
      .when(update('alice', { title: 'Team', announcement: 'Standup at 9' }))
      .then([updated({ announcement: 'Standup at 9', updatedBy: 'alice' })]);
    team.when(update('adam', { title: 'Renamed', avatar: null })).then([updated({ title: 'Renamed', updatedBy: 'adam' })]);
  });

  it('appends nothing when nothing changes, including after folding the same update', () => {
    team.when(update('alice', {})).thenNothingHappened();
    team.when(update('alice', { title: 'Team', avatar: null, announcement: null })).thenNothingHappened();
    const renamed = team
      .when(update('alice', { title: 'New', avatar: 'a.png' }))
      .then([updated({ title: 'New', avatar: 'a.png', updatedBy: 'alice' })]);
    assert.equal(renamed.state.title, 'New');
    assert.equal(renamed.state.avatar, 'a.png');
    renamed.when(update('alice', { title: 'New', avatar: 'a.png' })).thenNothingHappened();
  });

  it('clears a field with null', () => {
    const cleared = team
      .when(update('alice', { avatar: 'a.png' }))
      .then([updated({ avatar: 'a.png', updatedBy: 'alice' })])
      .when(update('alice', { avatar: null }))
      .then([updated({ avatar: null, updatedBy: 'alice' })]);
    assert.equal(cleared.state.avatar, null);
    assert.equal(cleared.state.title, 'Team');
  });

  it('is for the owner and admins of groups only', () => {
    team.when(update('bob', { title: 'Mine' })).thenThrows('forbidden');
    team.when(update('stranger', { title: 'Mine' })).thenThrows('not_a_member');
    direct.when(update('amy', { title: 'Us' })).thenThrows('forbidden');
  });
});

describe('conversation decider: send', () => {
  it('sends a text message for a member', () => {
    team.when(send('bob', 'k1', 'hi there')).then([
      {
        type: 'MessageSent',
        data: { messageId: 'msg-bob-k1', senderId: 'bob', clientMsgId: 'k1', kind: 'text', text: 'hi there', media: null },
      },
    ]);
  });

  it('refuses strangers and removed members (not_a_member)', () => {
    team.when(send('stranger', 'k1')).thenThrows('not_a_member');
    team.when(removeMember('alice', 'bob')).then([removed('bob')]).when(send('bob', 'k1')).thenThrows('not_a_member');
  });

  it('appends nothing for a clientMsgId the same sender already used', () => {
    const afterK1 = team.when(send('bob', 'k1')).then([sent('bob', 'k1')]);
    assert.deepEqual(afterK1.state.recentByClientKey.get(`bob\u0000k1`), { seq: 3, messageId: messageId('bob', 'k1'), sentAtMs: T0 + 3 * MINUTE });
    // A retry (even with a fresh messageId and different text) is the same send.
    afterK1.when({ ...send('bob', 'k1', 'other text'), messageId: 'fresh' }).thenNothingHappened();
    afterK1.when(send('bob', 'k2')).then([sent('bob', 'k2')]);
  });

  it('appends the same clientMsgId from another sender', () => {
    team
      .when(send('bob', 'k1'))
      .then([sent('bob', 'k1')])
      .when(send('carol', 'k1', 'mine'))
      .then([
        {
          type: 'MessageSent',
          data: { messageId: 'msg-carol-k1', senderId: 'carol', clientMsgId: 'k1', kind: 'text', text: 'mine', media: null },
        },
      ]);
  });
});

describe('conversation decider: media and location messages', () => {
  const photo = { hash: 'a'.repeat(64), mime: 'image/png', size: 1234, name: 'cat.png', width: 40, height: 30 };
  const place = { lat: 52.52, lng: 13.405, name: 'Berlin' };
  const base = { messageId: 'msg-bob-k1', senderId: 'bob', clientMsgId: 'k1' };

  it('sends media with its caption, or without one', () => {
    team.when({ ...send('bob', 'k1', 'look'), attachment: { media: photo } }).then([{ type: 'MessageSent', data: { ...base, kind: 'media', text: 'look', media: photo } }]);
    team.when({ ...send('bob', 'k1'), text: null, attachment: { media: photo } }).then([{ type: 'MessageSent', data: { ...base, kind: 'media', text: null, media: photo } }]);
  });

  it('sends a location without text, and refuses one with text or a message with nothing', () => {
    team
      .when({ ...send('bob', 'k1'), text: null, attachment: { location: place } })
      .then([{ type: 'MessageSent', data: { ...base, kind: 'location', text: null, media: null, location: place } }]);
    team.when({ ...send('bob', 'k1', 'here'), attachment: { location: place } }).thenThrows('validation_failed');
    team.when({ ...send('bob', 'k1'), text: null }).thenThrows('validation_failed');
  });

  it('refuses giving a location text by an edit', () => {
    team
      .when({ ...send('bob', 'k1'), text: null, attachment: { location: place } })
      .then((events) => events.length === 1)
      .when(edit('bob', 3, T0 + 4 * MINUTE))
      .thenThrows('validation_failed');
  });

  it('previews media by its type and a location by its kind; a recall drops the type', () => {
    const media = { ...sent('bob', 'k1'), data: { ...sent('bob', 'k1').data, kind: 'media' as const, text: null, media: photo } } as ConversationEvent;
    const withPhoto = [groupOf('alice', 'bob'), media];
    assert.deepEqual([given(withPhoto).state.lastMessage?.kind, given(withPhoto).state.lastMessage?.mime], ['media', 'image/png']);
    const { state } = given([...withPhoto, recalled(1, 'bob', 'k1', 'bob')]);
    assert.deepEqual([state.lastMessage?.kind, state.lastMessage?.mime, state.lastMessage?.recalled], ['media', undefined, true]);
  });
});

describe('conversation decider: edit and recall', () => {
  const SENT_AT = T0 + HOUR;
  /** The team, then bob's message at seq 3 and carol's at seq 4, both sent at T0 + 1h. */
  const messagesHistory = [...teamHistory, ...happenedAt(SENT_AT, [sent('bob', 'b1'), sent('carol', 'c1')])];
  const withMessages = given(messagesHistory);

  it('lets the sender edit their message', () => {
    withMessages.when(edit('bob', 3, SENT_AT + MINUTE, 'fixed')).then([edited(3, 'bob', 'b1', 'fixed')]);
  });

  it('answers not_found for a seq that is not a message', () => {
    withMessages.when(edit('alice', 0, SENT_AT)).thenThrows('not_found');
    withMessages.when(recall('alice', 1, SENT_AT)).thenThrows('not_found');
  });

  it('refuses anyone else editing, admins and the owner included', () => {
    withMessages.when(edit('carol', 3, SENT_AT)).thenThrows('forbidden');
    withMessages.when(edit('adam', 3, SENT_AT)).thenThrows('forbidden');
    withMessages.when(edit('alice', 3, SENT_AT)).thenThrows('forbidden');
    withMessages.when(edit('stranger', 3, SENT_AT)).thenThrows('not_a_member');
  });

  it('lets the sender recall, and admins and the owner recall anyone\'s message', () => {
    withMessages.when(recall('bob', 3, SENT_AT)).then([recalled(3, 'bob', 'b1', 'bob')]);
    withMessages.when(recall('adam', 3, SENT_AT)).then([recalled(3, 'bob', 'b1', 'adam')]);
    withMessages.when(recall('alice', 4, SENT_AT)).then([recalled(4, 'carol', 'c1', 'alice')]);
  });

  it('refuses a plain member recalling someone else\'s message', () => {
    withMessages.when(recall('carol', 3, SENT_AT)).thenThrows('forbidden');
  });

  it('allows changes up to exactly 24 hours after sending and refuses them later (conflict)', () => {
    withMessages.when(edit('bob', 3, SENT_AT + EDIT_WINDOW_MS)).then([edited(3, 'bob', 'b1')]);
    withMessages.when(recall('bob', 3, SENT_AT + EDIT_WINDOW_MS)).then([recalled(3, 'bob', 'b1', 'bob')]);
    withMessages.when(edit('bob', 3, SENT_AT + EDIT_WINDOW_MS + 1)).thenThrows('conflict');
    withMessages.when(recall('bob', 3, SENT_AT + EDIT_WINDOW_MS + 1)).thenThrows('conflict');
    withMessages.when(recall('adam', 3, SENT_AT + EDIT_WINDOW_MS + 1)).thenThrows('conflict');
  });

  it('refuses editing or recalling a recalled message (conflict)', () => {
    const afterRecall = given([...messagesHistory, ...happenedAt(SENT_AT + MINUTE, [recalled(3, 'bob', 'b1', 'adam')])]);
    assert.equal(afterRecall.state.recent.get(3)?.recalled, true);
    afterRecall.when(edit('bob', 3, SENT_AT + 2 * MINUTE)).thenThrows('conflict');
    afterRecall.when(recall('bob', 3, SENT_AT + 2 * MINUTE)).thenThrows('conflict');
    // The other message is untouched.
    afterRecall.when(edit('carol', 4, SENT_AT + 2 * MINUTE)).then([edited(4, 'carol', 'c1')]);
  });

  it('answers not_found for a seq past the last seq', () => {
    assert.equal(withMessages.state.lastSeq, 4);
    withMessages.when(edit('bob', 5, SENT_AT)).thenThrows('not_found');
    withMessages.when(recall('alice', 99, SENT_AT)).thenThrows('not_found');
  });

  it('refuses a message that left the in-memory window (pruned) with conflict, not not_found', () => {
    const LATE = SENT_AT + EDIT_WINDOW_MS + HOUR;
    const pruned = given([...messagesHistory, ...happenedAt(LATE, [sent('carol', 'late')])]);
    assert.equal(pruned.state.recent.has(3), false);
    pruned.when(edit('bob', 3, LATE)).thenThrows('conflict');
  });
});

describe('conversation decider: delivered and read markers', () => {
  /** The team, then five messages from alice at seqs 3..7. */
  const withMessages = given([...teamHistory, ...[1, 2, 3, 4, 5].map((n) => sent('alice', `a${n}`))]);

  it('moves the delivered marker forward and appends nothing when it would not advance', () => {
    const deliveredTo5 = withMessages.when(markDelivered('bob', 5)).then([delivered('bob', 5)]);
    assert.equal(deliveredTo5.state.members.get('bob')?.deliveredSeq, 5);
    assert.equal(deliveredTo5.state.members.get('bob')?.readSeq, 0, 'delivery does not read');
    deliveredTo5.when(markDelivered('bob', 5)).thenNothingHappened();
    deliveredTo5.when(markDelivered('bob', 4)).thenNothingHappened();
  });

  it('a read past the delivered marker emits MessagesDelivered, then MessageRead', () => {
    const readTo6 = withMessages.when(markRead('bob', 6)).then([delivered('bob', 6), read('bob', 6)]);
    assert.equal(readTo6.state.members.get('bob')?.deliveredSeq, 6);
    assert.equal(readTo6.state.members.get('bob')?.readSeq, 6);
  });

  it('a read up to an already delivered seq emits only MessageRead', () => {
    const readTo5 = withMessages
      .when(markDelivered('bob', 7))
      .then([delivered('bob', 7)])
      .when(markRead('bob', 5))
      .then([read('bob', 5)]);
    assert.deepEqual(readTo5.state.members.get('bob'), { role: 'member', joinedSeq: 0, deliveredSeq: 7, readSeq: 5 });
  });

  it('a read that would not advance appends nothing', () => {
    const readTo6 = withMessages.when(markRead('bob', 6)).then([delivered('bob', 6), read('bob', 6)]);
    readTo6.when(markRead('bob', 6)).thenNothingHappened();
    readTo6.when(markRead('bob', 3)).thenNothingHappened();
    readTo6.when(markRead('bob', 0)).thenNothingHappened();
  });

  it('refuses a marker past the last seq (validation_failed) and strangers (not_a_member)', () => {
    assert.equal(withMessages.state.lastSeq, 7);
    withMessages.when(markRead('bob', 8)).thenThrows('validation_failed');
    withMessages.when(markDelivered('bob', 8)).thenThrows('validation_failed');
    withMessages.when(markRead('stranger', 3)).thenThrows('not_a_member');
    withMessages.when(markRead('bob', 7)).then([delivered('bob', 7), read('bob', 7)]);
  });

  it('sending marks the sender read and delivered up to their own message, nobody else', () => {
    const afterSend = withMessages.when(send('bob', 'b1')).then([sent('bob', 'b1')]);
    assert.deepEqual(afterSend.state.members.get('bob'), { role: 'member', joinedSeq: 0, deliveredSeq: 8, readSeq: 8 });
    assert.deepEqual(afterSend.state.members.get('carol'), { role: 'member', joinedSeq: 0, deliveredSeq: 0, readSeq: 0 });
    afterSend.when(markRead('bob', 8)).thenNothingHappened();
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
    let current = team;
    for (let i = 0; i < 400; i++) {
      const who = people[rnd(people.length)]!;
      const choice = rnd(3);
      const upTo = rnd(current.state.lastSeq + 1);
      const { deliveredSeq, readSeq } = current.state.members.get(who)!;
      if (choice === 0) {
        current = current.when(send(who, `k${i}`)).then([sent(who, `k${i}`)]);
      } else {
        const command = choice === 1 ? markDelivered(who, upTo) : markRead(who, upTo);
        const advances = choice === 1 ? upTo > deliveredSeq : upTo > readSeq;
        if (advances) current = current.when(command).then((events) => events.length > 0);
        else current.when(command).thenNothingHappened();
        // Markers only ever move forward.
        assert.ok(current.state.members.get(who)!.deliveredSeq >= deliveredSeq);
        assert.ok(current.state.members.get(who)!.readSeq >= readSeq);
      }
      for (const [userId, m] of current.state.members) {
        assert.ok(m.readSeq <= m.deliveredSeq, `${userId}: readSeq ${m.readSeq} > deliveredSeq ${m.deliveredSeq}`);
        assert.ok(m.deliveredSeq <= current.state.lastSeq, `${userId}: deliveredSeq ${m.deliveredSeq} > lastSeq ${current.state.lastSeq}`);
      }
    }
    const appended = current.state.lastSeq - team.state.lastSeq;
    assert.ok(appended > 100, 'the script exercised the markers');
  });
});

describe('conversation evolve', () => {
  it('tracks lastSeq, the message seqs and the last message', () => {
    const { state } = given([groupOf('alice', 'bob'), sent('alice', 'a1', 'first'), added('carol'), sent('bob', 'b1', 'second')]);
    assert.equal(state.lastSeq, 3);
    assert.deepEqual(state.messageSeqs, [1, 3]);
    assert.deepEqual(state.lastMessage, {
      seq: 3,
      messageId: 'msg-bob-b1',
      senderId: 'bob',
      kind: 'text',
      text: 'second',
      sentAt: oneMinutePerSeq(3),
      recalled: false,
    });
    assert.equal(state.lastActivityAt, oneMinutePerSeq(3));
  });

  it('truncates the last message preview, edits it only when it is the last message, blanks it on recall', () => {
    const long = 'x'.repeat(PREVIEW_LENGTH + 50);
    const history = [groupOf('alice', 'bob'), sent('alice', 'a1', 'first'), sent('bob', 'b1', long)];
    assert.equal(given(history).state.lastMessage?.text, 'x'.repeat(PREVIEW_LENGTH));
    const notLastEdited = [...history, edited(1, 'alice', 'a1', 'not last')];
    assert.equal(given(notLastEdited).state.lastMessage?.seq, 2);
    assert.equal(given(notLastEdited).state.lastMessage?.text, 'x'.repeat(PREVIEW_LENGTH));
    const lastEdited = [...notLastEdited, edited(2, 'bob', 'b1', 'short now')];
    assert.equal(given(lastEdited).state.lastMessage?.text, 'short now');
    const { state } = given([...lastEdited, recalled(2, 'bob', 'b1', 'alice')]);
    assert.equal(state.lastMessage?.text, null);
    assert.equal(state.lastMessage?.recalled, true);
    assert.equal(state.lastMessage?.messageId, 'msg-bob-b1');
  });

  it('messagesUpTo counts the messages at or before a seq', () => {
    // Messages at seqs 1, 2, 4 and 6; other events at 0, 3 and 5.
    const { state } = given([
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
    const { state } = given([groupOf('alice', 'bob', 'carol'), sent('alice', 'a1'), removed('carol'), sent('bob', 'b1'), sent('alice', 'a2')]);
    assert.equal(state.members.has('carol'), false);
    assert.equal(state.leftSeqs.get('carol'), 2);
    assert.equal(visibleUpTo(state, 'carol'), 2);
    assert.equal(visibleUpTo(state, 'bob'), 4);
    assert.equal(visibleUpTo(state, 'stranger'), null);
  });

  it('a re-added member sees everything again and leaves leftSeqs', () => {
    const { state } = given([groupOf('alice', 'bob', 'carol'), removed('carol'), sent('alice', 'a1'), added('carol'), sent('bob', 'b1')]);
    assert.equal(state.leftSeqs.has('carol'), false);
    assert.equal(visibleUpTo(state, 'carol'), 4);
    assert.deepEqual(state.members.get('carol'), { role: 'member', joinedSeq: 3, deliveredSeq: 3, readSeq: 3 });
  });

  it('prunes messages older than the edit window from recent, and idempotency keys older than theirs', () => {
    const history = [
      ...happenedAt(T0, [groupOf('alice', 'bob'), sent('alice', 'old')]), // seqs 0, 1
      ...happenedAt(T0 + HOUR, [sent('bob', 'mid')]), // seq 2
    ];
    assert.deepEqual([...given(history).state.recent.keys()], [1, 2]);
    // seq 3, 25h after T0: seq 1 is 25h old (out), seq 2 exactly 24h old (kept).
    const withNew = [...history, ...happenedAt(T0 + 25 * HOUR, [sent('bob', 'new')])];
    const { state } = given(withNew);
    assert.deepEqual([...state.recent.keys()], [2, 3]);
    assert.equal(state.recentByClientKey.has('alice\u0000old'), false);
    assert.equal(state.recentByClientKey.get('bob\u0000mid')?.seq, 2);
    assert.equal(state.recentByClientKey.get('bob\u0000new')?.seq, 3);
    assert.deepEqual(state.messageSeqs, [1, 2, 3], 'pruning does not forget message seqs');
    // One millisecond later seq 2 leaves the window too.
    const later = given([...withNew, ...happenedAt(T0 + 25 * HOUR + 1, [sent('alice', 'newer')])]);
    assert.deepEqual([...later.state.recent.keys()], [3, 4]);
    // Out of the idempotency window a clientMsgId is a new send (the window is the protocol's promise).
    later.when(send('alice', 'old')).then([sent('alice', 'old')]);
    later.when(send('bob', 'new')).thenNothingHappened();
  });

  it('keeps recent messages when nothing new is sent, whatever the clock says', () => {
    const quiet = given([
      ...happenedAt(T0, [groupOf('alice', 'bob'), sent('alice', 'a1')]),
      ...happenedAt(T0 + 3 * EDIT_WINDOW_MS, [roleChanged('bob', 'admin')]),
    ]);
    assert.deepEqual([...quiet.state.recent.keys()], [1]);
    // A late retry is still recognised.
    quiet.when(send('alice', 'a1')).thenNothingHappened();
  });
});

describe('conversation decider: delete a group for everyone', () => {
  const deleteIt = (actorId: string): ConversationCommand => ({ type: 'deleteConversation', actorId });
  const deletedBy = (actorId: string): ConversationEvent => ({ type: 'ConversationDeleted', data: { deletedBy: actorId } });

  it('is the owner\'s to do, in a group only', () => {
    given([groupOf('alice', 'bob')]).when(deleteIt('alice')).then([deletedBy('alice')]);
    given([groupOf('alice', 'bob'), roleChanged('bob', 'admin')]).when(deleteIt('bob')).thenThrows('forbidden');
    given([groupOf('alice', 'bob')]).when(deleteIt('stranger')).thenThrows('not_a_member');
    given([directOf('amy', 'bob')]).when(deleteIt('amy')).thenThrows('forbidden');
  });

  it('ends the conversation: nothing more is decided in it, and nobody sees it any more', () => {
    const gone = given([groupOf('alice', 'bob'), deletedBy('alice')]);
    gone.when(send('bob', 'k1')).thenThrows('not_found');
    gone.when(deleteIt('alice')).thenThrows('not_found');
    gone.when(markRead('bob', 0)).thenThrows('not_found');
    assert.equal(gone.state.deleted, true);
    assert.equal(visibleUpTo(gone.state, 'bob'), null);
    assert.deepEqual([...gone.state.members.keys()], ['alice', 'bob'], 'its members stay its audience: they are told');
  });
});
