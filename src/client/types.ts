import type { z } from 'zod';
import type * as schemas from '../api/schemas.js';
import type * as views from '../api/views.js';
import type { profileOf } from '../commands/userCommands.js';
import type { EventData, EventType, ConversationEvent as DomainConversationEvent } from '../domain/events.js';
import type { PresenceFrame, SyncedFrame, TypingFrame } from '../gateway/frames.js';

/**
 * The wire shapes, taken from the server's own schemas and views. Imported as types only, so the
 * browser bundle carries none of the server's code.
 */

export type RegisterInput = z.input<typeof schemas.registerBody>;
export type LoginInput = z.input<typeof schemas.sessionBody>;
export type CreateConversationInput = z.input<typeof schemas.createConversationBody>;
export type SettingsInput = z.input<typeof schemas.settingsBody>;
export type MessagesQuery = Partial<z.output<typeof schemas.messagesQuery>>;
export type ConversationsQuery = { limit?: number; cursor?: string; archived?: boolean };

export type Profile = ReturnType<typeof profileOf>;
export type RegisteredUser = Pick<Profile, 'userId' | 'username' | 'displayName'>;
export interface Session {
  token: string;
  userId: string;
}
export type ConversationListItem = ReturnType<typeof views.conversationListItem>;
export type ConversationDetail = ReturnType<typeof views.conversationDetail>;
export type Message = ReturnType<typeof views.messageItem>;
export type Receipts = ReturnType<typeof views.messageReceipts>;
export type SyncItem = ReturnType<typeof views.syncItem>;
export interface Presence {
  userId: string;
  online: boolean;
  lastSeenAt: string | null;
}
export interface Sent {
  messageId: string;
  seq: number;
}
export interface ReadMarker {
  readSeq: number;
  unreadCount: number;
}
export interface ConversationSettings {
  conversationId: string;
  muted: boolean;
  pinned: boolean;
  archived: boolean;
}
export interface TimelineItem {
  seq: number;
  type: string;
  data: unknown;
  at: string;
}

type ConversationEventType = DomainConversationEvent['type'];
/**
 * One event of a conversation as the application sees it, once and in seq order. A recalled
 * message's `MessageSent` comes with `text: null`, `media: null` and `recalled: true`.
 */
export type ChatEvent = {
  [T in ConversationEventType]: {
    conversationId: string;
    seq: number;
    type: T;
    data: T extends 'MessageSent' | 'MessageEdited' ? Redacted<EventData<T>> : EventData<T>;
    at: string;
  };
}[ConversationEventType];
type Redacted<D> = { [K in keyof D]: K extends 'text' ? D[K] | null : D[K] } & { recalled?: boolean };

export type TypingNotice = Omit<TypingFrame, 'type'>;
export type PresenceNotice = Omit<PresenceFrame, 'type'>;
export type SyncedNotice = Omit<SyncedFrame, 'type'>;
export type { EventType };
