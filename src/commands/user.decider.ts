import type { UserCommand } from '../domain/commands.js';
import { conflict, notFound } from '../domain/errors.js';
import type { UserEvent } from '../domain/events.js';
import { defaultSettings, definedOnly, evolveUser, initialUserState, type UserState } from '../domain/user.js';
import type { Decider } from './decider.js';

/** Pure: the user-stream events a command produces. Repeating a change appends nothing. */
export function decideUser(state: UserState, command: UserCommand): UserEvent[] {
  if (command.type === 'registerUser') {
    if (state.exists) throw conflict('user already exists');
    const { type: _, ...data } = command;
    return [{ type: 'UserRegistered', data }];
  }
  if (!state.exists) throw notFound('user');
  switch (command.type) {
    case 'updateProfile': {
      const changes = definedOnly({
        displayName: command.displayName !== state.displayName ? command.displayName : undefined,
        avatar: command.avatar !== state.avatar ? command.avatar : undefined,
      });
      return Object.keys(changes).length ? [{ type: 'ProfileUpdated', data: changes }] : [];
    }
    case 'changeConversationSettings': {
      const { type: _, conversationId, ...requested } = command;
      const current = state.settings.get(conversationId) ?? defaultSettings();
      const changes = definedOnly({
        muted: requested.muted !== current.muted ? requested.muted : undefined,
        pinned: requested.pinned !== current.pinned ? requested.pinned : undefined,
        archived: requested.archived !== current.archived ? requested.archived : undefined,
      });
      if (Object.keys(changes).length === 0) return [];
      return [{ type: 'ConversationSettingsChanged', data: { conversationId, ...changes } }];
    }
    case 'registerDevice':
      if (state.devices.get(command.token) === command.platform) return [];
      return [{ type: 'DeviceRegistered', data: { token: command.token, platform: command.platform } }];
    case 'removeDevice':
      if (!state.devices.has(command.token)) throw notFound('device');
      return [{ type: 'DeviceRemoved', data: { token: command.token } }];
  }
}

export const userDecider: Decider<UserState, UserCommand, UserEvent> = {
  initialState: initialUserState,
  decide: decideUser,
  evolve: evolveUser,
};
