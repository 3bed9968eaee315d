import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UserCommand } from '../domain/commands.js';
import { DomainError, type DomainErrorCode } from '../domain/errors.js';
import type { UserEvent } from '../domain/events.js';
import { evolveUser, initialUserState, type UserState } from '../domain/user.js';
import { decideUser } from './user.decider.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const UID = 'u1';

/** Folds events into `state` at seqs lastSeq+1, lastSeq+2, ... */
function fold(events: UserEvent[], state = initialUserState(UID)): UserState {
  for (const event of events) evolveUser(state, event, state.lastSeq + 1);
  return state;
}

/** Decides a command and folds what it produced. */
function run(state: UserState, command: UserCommand): UserEvent[] {
  const events = decideUser(state, command);
  fold(events, state);
  return events;
}

const refusedWith = (code: DomainErrorCode) => (e: unknown) => e instanceof DomainError && e.code === code;

const register: UserCommand = {
  type: 'registerUser',
  userId: UID,
  username: 'alice',
  displayName: 'Alice',
  passwordHash: 'scrypt$salt$hash',
};
const registered = () => fold(decideUser(initialUserState(UID), register));
const settings = (conversationId: string, s: { muted?: boolean; pinned?: boolean; archived?: boolean }): UserCommand => ({
  type: 'changeConversationSettings',
  conversationId,
  ...s,
});
const profile = (p: { displayName?: string; avatar?: string | null }): UserCommand => ({ type: 'updateProfile', ...p });
const registerDevice = (token: string, platform: 'android' | 'ios' | 'web'): UserCommand => ({
  type: 'registerDevice',
  token,
  platform,
});
const removeDevice = (token: string): UserCommand => ({ type: 'removeDevice', token });

// ---------------------------------------------------------------------------------------------

describe('user decider: register', () => {
  it('registers a user with exactly the given data', () => {
    assert.deepEqual(decideUser(initialUserState(UID), register), [
      {
        type: 'UserRegistered',
        data: { userId: UID, username: 'alice', displayName: 'Alice', passwordHash: 'scrypt$salt$hash' },
      },
    ]);
  });

  it('evolves into an existing user with no avatar, devices or settings', () => {
    const state = registered();
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
    assert.throws(() => decideUser(registered(), register), refusedWith('conflict'));
  });

  it('refuses every other command on a user that does not exist (not_found)', () => {
    const missing = initialUserState(UID);
    for (const command of [
      profile({ displayName: 'X' }),
      settings('c1', { muted: true }),
      registerDevice('t1', 'ios'),
      removeDevice('t1'),
    ]) {
      assert.throws(() => decideUser(missing, command), refusedWith('not_found'), command.type);
    }
  });
});

describe('user decider: profile', () => {
  it('carries only the fields that change', () => {
    const state = registered();
    assert.deepEqual(decideUser(state, profile({ displayName: 'Alice', avatar: 'me.png' })), [
      { type: 'ProfileUpdated', data: { avatar: 'me.png' } },
    ]);
    assert.deepEqual(decideUser(state, profile({ displayName: 'Ally', avatar: null })), [
      { type: 'ProfileUpdated', data: { displayName: 'Ally' } },
    ]);
  });

  it('appends nothing without a change, and nothing when the change is repeated', () => {
    const state = registered();
    assert.deepEqual(decideUser(state, profile({})), []);
    assert.deepEqual(decideUser(state, profile({ displayName: 'Alice', avatar: null })), []);
    assert.equal(run(state, profile({ displayName: 'Ally', avatar: 'me.png' })).length, 1);
    assert.equal(state.displayName, 'Ally');
    assert.equal(state.avatar, 'me.png');
    assert.deepEqual(decideUser(state, profile({ displayName: 'Ally', avatar: 'me.png' })), []);
  });

  it('clears the avatar with null and leaves the display name alone', () => {
    const state = registered();
    run(state, profile({ avatar: 'me.png' }));
    assert.deepEqual(run(state, profile({ avatar: null })), [{ type: 'ProfileUpdated', data: { avatar: null } }]);
    assert.equal(state.avatar, null);
    assert.equal(state.displayName, 'Alice');
  });
});

describe('user decider: conversation settings', () => {
  it('carries only the settings that change from the defaults (all false)', () => {
    const state = registered();
    assert.deepEqual(decideUser(state, settings('c1', { muted: true, pinned: false })), [
      { type: 'ConversationSettingsChanged', data: { conversationId: 'c1', muted: true } },
    ]);
  });

  it('appends nothing without a change', () => {
    const state = registered();
    assert.deepEqual(decideUser(state, settings('c1', {})), []);
    assert.deepEqual(decideUser(state, settings('c1', { muted: false, pinned: false, archived: false })), []);
    run(state, settings('c1', { pinned: true }));
    assert.deepEqual(decideUser(state, settings('c1', { pinned: true })), []);
  });

  it('merges changes through evolveUser, per conversation', () => {
    const state = registered();
    run(state, settings('c1', { muted: true }));
    run(state, settings('c1', { pinned: true }));
    run(state, settings('c2', { archived: true }));
    assert.deepEqual(state.settings.get('c1'), { muted: true, pinned: true, archived: false });
    assert.deepEqual(state.settings.get('c2'), { muted: false, pinned: false, archived: true });
    assert.deepEqual(run(state, settings('c1', { muted: true, pinned: false, archived: true })), [
      { type: 'ConversationSettingsChanged', data: { conversationId: 'c1', pinned: false, archived: true } },
    ]);
    assert.deepEqual(state.settings.get('c1'), { muted: true, pinned: false, archived: true });
    assert.equal(state.lastSeq, 4);
  });
});

describe('user decider: devices', () => {
  it('registers a device once per token and platform', () => {
    const state = registered();
    assert.deepEqual(run(state, registerDevice('t1', 'android')), [
      { type: 'DeviceRegistered', data: { token: 't1', platform: 'android' } },
    ]);
    assert.deepEqual(decideUser(state, registerDevice('t1', 'android')), []);
    assert.deepEqual(decideUser(state, registerDevice('t2', 'android')), [
      { type: 'DeviceRegistered', data: { token: 't2', platform: 'android' } },
    ]);
  });

  it('re-registers a known token under a new platform', () => {
    const state = registered();
    run(state, registerDevice('t1', 'android'));
    assert.deepEqual(run(state, registerDevice('t1', 'web')), [
      { type: 'DeviceRegistered', data: { token: 't1', platform: 'web' } },
    ]);
    assert.deepEqual([...state.devices], [['t1', 'web']]);
  });

  it('removes a known device, and answers not_found for an unknown one', () => {
    const state = registered();
    run(state, registerDevice('t1', 'ios'));
    run(state, registerDevice('t2', 'web'));
    assert.deepEqual(run(state, removeDevice('t1')), [{ type: 'DeviceRemoved', data: { token: 't1' } }]);
    assert.deepEqual([...state.devices], [['t2', 'web']]);
    assert.throws(() => decideUser(state, removeDevice('t1')), refusedWith('not_found'));
    assert.throws(() => decideUser(state, removeDevice('never')), refusedWith('not_found'));
  });
});
