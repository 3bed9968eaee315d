import { fullView, type PersonalView } from './conversation.js';
import type { UserEvent } from './events.js';

/** What is left of an erased account's profile: its id and nothing else. */
export const erasedProfile = { username: '', displayName: '', avatar: null } as const;

export interface ConversationSettings {
  muted: boolean;
  pinned: boolean;
  archived: boolean;
}

export interface UserState {
  exists: boolean;
  userId: string;
  username: string;
  displayName: string;
  avatar: string | null;
  passwordHash: string;
  devices: Map<string, 'android' | 'ios' | 'web'>;
  settings: Map<string, ConversationSettings>;
  /** What this user deleted for themselves, by conversation. */
  views: Map<string, PersonalView>;
  /** The account was erased (UserErased): nothing of it can be read or changed any more. */
  erased: boolean;
  /** When an erased account's username may be registered again. */
  usernameFreeAt: string | null;
  lastSeq: number;
}

export const defaultSettings = (): ConversationSettings => ({ muted: false, pinned: false, archived: false });

export function initialUserState(userId: string): UserState {
  return {
    exists: false,
    userId,
    username: '',
    displayName: '',
    avatar: null,
    passwordHash: '',
    devices: new Map(),
    settings: new Map(),
    views: new Map(),
    erased: false,
    usernameFreeAt: null,
    lastSeq: -1,
  };
}

/** Applies one user-stream event in place (see evolveConversation for why in place). */
export function evolveUser(state: UserState, event: UserEvent, seq: number): UserState {
  state.lastSeq = seq;
  switch (event.type) {
    case 'UserRegistered':
      state.exists = true;
      state.username = event.data.username;
      state.displayName = event.data.displayName;
      state.passwordHash = event.data.passwordHash;
      break;
    case 'ProfileUpdated':
      if (event.data.displayName !== undefined) state.displayName = event.data.displayName;
      if (event.data.avatar !== undefined) state.avatar = event.data.avatar;
      break;
    case 'ConversationSettingsChanged': {
      const { conversationId, ...changes } = event.data;
      const current = state.settings.get(conversationId) ?? defaultSettings();
      state.settings.set(conversationId, { ...current, ...definedOnly(changes) });
      break;
    }
    case 'DeviceRegistered':
      state.devices.set(event.data.token, event.data.platform);
      break;
    case 'DeviceRemoved':
      state.devices.delete(event.data.token);
      break;
    case 'UserErased':
      Object.assign(state, erasedProfile, { erased: true, usernameFreeAt: event.data.usernameFreeAt });
      state.devices.clear();
      break;
    case 'MessagesHidden':
      state.views.set(event.data.conversationId, { ...viewOf(state, event.data.conversationId), hiddenSeqs: event.data.seqs });
      break;
    case 'ConversationCleared':
    case 'ConversationDeletedForMe': {
      const { conversationId, upToSeq, messageCount } = event.data;
      const view = viewOf(state, conversationId);
      state.views.set(conversationId, {
        clearedUpToSeq: upToSeq,
        clearedMessageCount: messageCount,
        hiddenSeqs: view.hiddenSeqs.filter((seq) => seq > upToSeq),
        removedUpToSeq: event.type === 'ConversationDeletedForMe' ? upToSeq : view.removedUpToSeq,
      });
      break;
    }
  }
  return state;
}

/** What this user sees of a conversation: everything, unless they deleted some of it for themselves. */
export const viewOf = (state: UserState, conversationId: string): PersonalView => state.views.get(conversationId) ?? fullView();

export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
