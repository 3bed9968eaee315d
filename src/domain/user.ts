import type { UserEvent } from './events.js';

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
  }
  return state;
}

export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
