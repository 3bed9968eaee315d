import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeciderSpecification } from '../../test/support/specification.js';
import type { UserCommand } from '../domain/commands.js';
import type { UserEvent } from '../domain/events.js';
import { userDecider } from './user.decider.js';

// ---------------------------------------------------------------------------------------------
// Events and commands
// ---------------------------------------------------------------------------------------------

const UID = 'u1';
const given = DeciderSpecification.for(userDecider, { id: UID });

const register: UserCommand = {
  type: 'registerUser',
  userId: UID,
  username: 'alice',
  displayName: 'Alice',
  passwordHash: 'scrypt$salt$hash',
};
const registeredEvent: UserEvent = {
  type: 'UserRegistered',
  data: { userId: UID, username: 'alice', displayName: 'Alice', passwordHash: 'scrypt$salt$hash' },
};
const registered = given([registeredEvent]);
const settings = (conversationId: string, s: { muted?: boolean; pinned?: boolean; archived?: boolean }): UserCommand => ({
  type: 'changeConversationSettings',
  conversationId,
  ...s,
});
const settingsChanged = (conversationId: string, s: { muted?: boolean; pinned?: boolean; archived?: boolean }): UserEvent => ({
  type: 'ConversationSettingsChanged',
  data: { conversationId, ...s },
});
const profile = (p: { displayName?: string; avatar?: string | null }): UserCommand => ({ type: 'updateProfile', ...p });
const profileUpdated = (p: { displayName?: string; avatar?: string | null }): UserEvent => ({ type: 'ProfileUpdated', data: p });
const registerDevice = (token: string, platform: 'android' | 'ios' | 'web'): UserCommand => ({
  type: 'registerDevice',
  token,
  platform,
});
const deviceRegistered = (token: string, platform: 'android' | 'ios' | 'web'): UserEvent => ({
  type: 'DeviceRegistered',
  data: { token, platform },
});
const removeDevice = (token: string): UserCommand => ({ type: 'removeDevice', token });

// ---------------------------------------------------------------------------------------------

describe('user decider: register', () => {
  it('registers a user with exactly the given data', () => {
    given([]).when(register).then([registeredEvent]);
  });

  it('evolves into an existing user with no avatar, devices or settings', () => {
    const { state } = given([]).when(register).then([registeredEvent]);
    assert.equal(state.exists, true);
    assert.equal(state.lastSeq, 0);
    assert.equal(state.username, 'alice');
    assert.equal(state.displayName, 'Alice');
    assert.equal(state.passwordHash, 'scrypt$salt$hash');
    assert.equal(state.avatar, null);
    assert.equal(state.devices.size, 0);
    assert.equal(state.settings.size, 0);
  });

  it('refuses registering the same user twice (conflict)', () => {
    registered.when(register).thenThrows('conflict');
  });

  it('refuses every other command on a user that does not exist (not_found)', () => {
    for (const command of [
      profile({ displayName: 'X' }),
      settings('c1', { muted: true }),
      registerDevice('t1', 'ios'),
      removeDevice('t1'),
    ]) {
      given([]).when(command).thenThrows('not_found');
    }
  });
});

describe('user decider: profile', () => {
  it('carries only the fields that change', () => {
    registered.when(profile({ displayName: 'Alice', avatar: 'me.png' })).then([profileUpdated({ avatar: 'me.png' })]);
    registered.when(profile({ displayName: 'Ally', avatar: null })).then([profileUpdated({ displayName: 'Ally' })]);
  });

  it('appends nothing without a change, and nothing when the change is repeated', () => {
    registered.when(profile({})).thenNothingHappened();
    registered.when(profile({ displayName: 'Alice', avatar: null })).thenNothingHappened();
    const changed = registered
      .when(profile({ displayName: 'Ally', avatar: 'me.png' }))
      .then([profileUpdated({ displayName: 'Ally', avatar: 'me.png' })]);
    assert.equal(changed.state.displayName, 'Ally');
    assert.equal(changed.state.avatar, 'me.png');
    changed.when(profile({ displayName: 'Ally', avatar: 'me.png' })).thenNothingHappened();
  });

  it('clears the avatar with null and leaves the display name alone', () => {
    const { state } = registered
      .when(profile({ avatar: 'me.png' }))
      .then([profileUpdated({ avatar: 'me.png' })])
      .when(profile({ avatar: null }))
      .then([profileUpdated({ avatar: null })]);
    assert.equal(state.avatar, null);
    assert.equal(state.displayName, 'Alice');
  });
});

describe('user decider: conversation settings', () => {
  it('carries only the settings that change from the defaults (all false)', () => {
    registered.when(settings('c1', { muted: true, pinned: false })).then([settingsChanged('c1', { muted: true })]);
  });

  it('appends nothing without a change', () => {
    registered.when(settings('c1', {})).thenNothingHappened();
    registered.when(settings('c1', { muted: false, pinned: false, archived: false })).thenNothingHappened();
    registered
      .when(settings('c1', { pinned: true }))
      .then([settingsChanged('c1', { pinned: true })])
      .when(settings('c1', { pinned: true }))
      .thenNothingHappened();
  });

  it('merges changes through evolveUser, per conversation', () => {
    const threeChanges = given([
      registeredEvent,
      settingsChanged('c1', { muted: true }),
      settingsChanged('c1', { pinned: true }),
      settingsChanged('c2', { archived: true }),
    ]);
    assert.deepEqual(threeChanges.state.settings.get('c1'), { muted: true, pinned: true, archived: false });
    assert.deepEqual(threeChanges.state.settings.get('c2'), { muted: false, pinned: false, archived: true });
    const { state } = threeChanges
      .when(settings('c1', { muted: true, pinned: false, archived: true }))
      .then([settingsChanged('c1', { pinned: false, archived: true })]);
    assert.deepEqual(state.settings.get('c1'), { muted: true, pinned: false, archived: true });
    assert.equal(state.lastSeq, 4);
  });
});

describe('user decider: devices', () => {
  it('registers a device once per token and platform', () => {
    const withT1 = registered.when(registerDevice('t1', 'android')).then([deviceRegistered('t1', 'android')]);
    withT1.when(registerDevice('t1', 'android')).thenNothingHappened();
    withT1.when(registerDevice('t2', 'android')).then([deviceRegistered('t2', 'android')]);
  });

  it('re-registers a known token under a new platform', () => {
    const { state } = given([registeredEvent, deviceRegistered('t1', 'android')])
      .when(registerDevice('t1', 'web'))
      .then([deviceRegistered('t1', 'web')]);
    assert.deepEqual([...state.devices], [['t1', 'web']]);
  });

  it('removes a known device, and answers not_found for an unknown one', () => {
    const afterRemoval = given([registeredEvent, deviceRegistered('t1', 'ios'), deviceRegistered('t2', 'web')])
      .when(removeDevice('t1'))
      .then([{ type: 'DeviceRemoved', data: { token: 't1' } }]);
    assert.deepEqual([...afterRemoval.state.devices], [['t2', 'web']]);
    afterRemoval.when(removeDevice('t1')).thenThrows('not_found');
    afterRemoval.when(removeDevice('never')).thenThrows('not_found');
  });
});

describe('user decider: delete for me', () => {
  const C = 'c1';
  const hide = (...seqs: number[]): UserCommand => ({ type: 'hideMessages', conversationId: C, seqs });
  const hidden = (...seqs: number[]): UserEvent => ({ type: 'MessagesHidden', data: { conversationId: C, seqs } });
  const clear = (upToSeq: number, messageCount: number, removeFromList = false): UserCommand => ({
    type: 'clearConversation',
    conversationId: C,
    upToSeq,
    messageCount,
    removeFromList,
  });
  const cleared = (upToSeq: number, messageCount: number): UserEvent => ({ type: 'ConversationCleared', data: { conversationId: C, upToSeq, messageCount } });
  const deletedForMe = (upToSeq: number, messageCount: number): UserEvent => ({
    type: 'ConversationDeletedForMe',
    data: { conversationId: C, upToSeq, messageCount },
  });

  it('hides messages with the whole hidden list of the conversation, ascending, and hiding them again changes nothing', () => {
    registered.when(hide(5, 3)).then([hidden(3, 5)]).when(hide(4, 5)).then([hidden(3, 4, 5)]).when(hide(3)).thenNothingHappened();
  });

  it('clears the history up to a seq, forgetting the hidden messages it covers; never backwards', () => {
    const after = registered.when(hide(2, 6)).then([hidden(2, 6)]).when(clear(4, 2)).then([cleared(4, 2)]);
    assert.deepEqual(after.state.views.get(C), { clearedUpToSeq: 4, clearedMessageCount: 2, hiddenSeqs: [6], removedUpToSeq: -1 });
    after.when(clear(3, 1)).thenNothingHappened();
    after.when(hide(1)).thenNothingHappened();
    after.when(hide(7)).then([hidden(6, 7)]);
  });

  it('deletes the conversation for me up to a seq; again with nothing new changes nothing', () => {
    const after = registered.when(clear(4, 2, true)).then([deletedForMe(4, 2)]);
    assert.equal(after.state.views.get(C)?.removedUpToSeq, 4);
    after.when(clear(4, 2, true)).thenNothingHappened();
    after.when(clear(9, 5, true)).then([deletedForMe(9, 5)]);
  });

  it('hides at most a bounded number of messages one by one', () => {
    const many = Array.from({ length: 1000 }, (_, i) => i + 1);
    registered.when(hide(...many)).then([hidden(...many)]).when(hide(2000)).thenThrows('too_large');
  });
});
