import type { UserCommand } from '../domain/commands.js';
import { includesSeq } from '../domain/conversation.js';
import { DomainError, conflict, notFound } from '../domain/errors.js';
import type { UserEvent } from '../domain/events.js';
import { defaultSettings, definedOnly, evolveUser, initialUserState, viewOf, type UserState } from '../domain/user.js';
import type { Decider } from './decider.js';

/** Pure: the user-stream events a command produces. Repeating a change appends nothing. */
export function decideUser(state: UserState, command: UserCommand): UserEvent[] {
  if (command.type === 'registerUser') {
    if (state.exists) throw conflict('user already exists');
    const { type: _, ...data } = command;
    return [{ type: 'UserRegistered', data }];
  }
  if (!state.exists) throw notFound('user');
  if (command.type === 'eraseUser') return state.erased ? [] : [{ type: 'UserErased', data: { usernameFreeAt: command.usernameFreeAt } }];
  if (state.erased) throw notFound('user (the account was erased)');
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
    case 'hideMessages':
      return hideMessages(state, command);
    case 'clearConversation':
      return clearConversation(state, command);
  }
}

/**
 * Each event carries the whole hidden list of its conversation, so the list is bounded: past this
 * many, clearing the history up to a seq is the way to delete more.
 */
export const MAX_HIDDEN_PER_CONVERSATION = 1000;

function hideMessages(state: UserState, c: Extract<UserCommand, { type: 'hideMessages' }>): UserEvent[] {
  const view = viewOf(state, c.conversationId);
  const added = c.seqs.filter((seq) => seq > view.clearedUpToSeq && !includesSeq(view.hiddenSeqs, seq));
  if (added.length === 0) return [];
  const seqs = [...new Set([...view.hiddenSeqs, ...added])].sort((a, b) => a - b);
  if (seqs.length > MAX_HIDDEN_PER_CONVERSATION) {
    throw new DomainError('too_large', `at most ${MAX_HIDDEN_PER_CONVERSATION} messages are hidden one by one; clear the history up to a seq instead`);
  }
  return [{ type: 'MessagesHidden', data: { conversationId: c.conversationId, seqs } }];
}

/** Clearing never moves back; deleting again with no message since changes nothing either. */
function clearConversation(state: UserState, c: Extract<UserCommand, { type: 'clearConversation' }>): UserEvent[] {
  const view = viewOf(state, c.conversationId);
  const data = { conversationId: c.conversationId, upToSeq: c.upToSeq, messageCount: c.messageCount };
  if (c.removeFromList) return c.upToSeq > view.removedUpToSeq ? [{ type: 'ConversationDeletedForMe', data }] : [];
  return c.upToSeq > view.clearedUpToSeq ? [{ type: 'ConversationCleared', data }] : [];
}

export const userDecider: Decider<UserState, UserCommand, UserEvent> = {
  initialState: initialUserState,
  decide: decideUser,
  evolve: evolveUser,
};
