import { z } from 'zod';
import { DomainError } from './errors.js';

/**
 * Every event type with its versioned data schema. A stored event names its schema version in
 * metadata; reading one of a version this build does not know is an error, never a silent drop,
 * so an old binary cannot quietly misread a newer datacenter's events.
 */

export const MAX_TEXT_LENGTH = 8000;
export const MAX_TITLE_LENGTH = 200;

const id = z.string().min(1).max(128);
export const role = z.enum(['owner', 'admin', 'member']);
export type Role = z.infer<typeof role>;
export const conversationKind = z.enum(['direct', 'group']);
export type ConversationKind = z.infer<typeof conversationKind>;
const seq = z.number().int().nonnegative();

/**
 * A media message's reference to stored content: the SHA-256 of the bytes and what the upload
 * learnt of them. Never the bytes themselves; dimensions only for images, and only in events
 * written since uploads measure them.
 */
export const media = z.object({
  hash: z.string().min(1).max(256),
  mime: z.string().min(1).max(128),
  size: z.number().int().nonnegative(),
  name: z.string().max(256).nullable(),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  durationMs: z.number().int().nonnegative().optional(),
});
export type Media = z.infer<typeof media>;

export const location = z.object({
  lat: z.number().min(-90).max(90),
  lng: z.number().min(-180).max(180),
  name: z.string().max(256).optional(),
});
export type Location = z.infer<typeof location>;

export const messageKind = z.enum(['text', 'media', 'location']);
export type MessageKind = z.infer<typeof messageKind>;

const v1 = {
  ConversationCreated: z.object({
    conversationId: id,
    kind: conversationKind,
    title: z.string().max(MAX_TITLE_LENGTH).nullable(),
    createdBy: id,
    members: z.array(z.object({ userId: id, role })),
    homeDc: z.string(),
  }),
  MemberAdded: z.object({ userId: id, role, addedBy: id }),
  MemberRemoved: z.object({ userId: id, removedBy: id }),
  MemberRoleChanged: z.object({ userId: id, role, changedBy: id }),
  ConversationUpdated: z.object({
    title: z.string().max(MAX_TITLE_LENGTH).optional(),
    avatar: z.string().max(1024).nullable().optional(),
    announcement: z.string().max(MAX_TEXT_LENGTH).nullable().optional(),
    updatedBy: id,
  }),
  // Additive only: events written before media messages (text, no location) parse unchanged, and a
  // text message is still written exactly as then. `text` is a media message's caption.
  MessageSent: z.object({
    messageId: id,
    senderId: id,
    clientMsgId: id,
    kind: messageKind.default('text'),
    text: z.string().max(MAX_TEXT_LENGTH).nullable(),
    media: media.nullable().default(null),
    // null only once erased (see `erased`).
    location: location.nullable().optional(),
    /** The sender's account was erased: the content is gone for good (src/privacy/erasure.ts). */
    erased: z.literal(true).optional(),
  }),
  MessageEdited: z.object({
    messageId: id,
    seq,
    editorId: id,
    text: z.string().max(MAX_TEXT_LENGTH).nullable(),
    erased: z.literal(true).optional(),
  }),
  MessageRecalled: z.object({ messageId: id, seq, recalledBy: id }),
  MessagesDelivered: z.object({ userId: id, upToSeq: seq }),
  MessageRead: z.object({ userId: id, upToSeq: seq }),
  /** The owner deleted the group for everyone: it leaves every list, and nothing more happens in it. */
  ConversationDeleted: z.object({ deletedBy: id }),

  UserRegistered: z.object({
    userId: id,
    username: z.string(),
    displayName: z.string(),
    passwordHash: z.string(),
  }),
  ProfileUpdated: z.object({
    displayName: z.string().optional(),
    avatar: z.string().max(1024).nullable().optional(),
  }),
  ConversationSettingsChanged: z.object({
    conversationId: id,
    muted: z.boolean().optional(),
    pinned: z.boolean().optional(),
    archived: z.boolean().optional(),
  }),
  DeviceRegistered: z.object({ token: z.string(), platform: z.enum(['android', 'ios', 'web']) }),
  DeviceRemoved: z.object({ token: z.string() }),
  /**
   * Delete for me: messages this user no longer sees. Carries every message hidden in the
   * conversation above its cleared seq, this change included, so a device or a projection applies
   * it without knowing what came before.
   */
  MessagesHidden: z.object({ conversationId: id, seqs: z.array(seq) }),
  /**
   * This user's history of the conversation up to `upToSeq` is gone for them. `messageCount` is the
   * number of messages at or before it, so unread counts can skip them without folding the stream.
   */
  ConversationCleared: z.object({ conversationId: id, upToSeq: seq, messageCount: z.number().int().nonnegative() }),
  /** Cleared as above, and off this user's list until a message after `upToSeq` arrives. */
  ConversationDeletedForMe: z.object({ conversationId: id, upToSeq: seq, messageCount: z.number().int().nonnegative() }),
  UsernameReserved: z.object({ username: z.string(), userId: id }),
  /**
   * The account was erased: its key is deleted, so its personal data in every event reads as
   * erased from now on. Its username may be taken by someone else from `usernameFreeAt`.
   */
  UserErased: z.object({ usernameFreeAt: z.string() }),
} as const;

/** Versions per type; add `2: schema` (and an upcaster to the latest shape) to evolve one. */
export const eventSchemas: { [T in EventType]: Record<number, z.ZodType<EventData<T>>> } = {
  ConversationCreated: { 1: v1.ConversationCreated },
  MemberAdded: { 1: v1.MemberAdded },
  MemberRemoved: { 1: v1.MemberRemoved },
  MemberRoleChanged: { 1: v1.MemberRoleChanged },
  ConversationUpdated: { 1: v1.ConversationUpdated },
  MessageSent: { 1: v1.MessageSent },
  MessageEdited: { 1: v1.MessageEdited },
  MessageRecalled: { 1: v1.MessageRecalled },
  MessagesDelivered: { 1: v1.MessagesDelivered },
  MessageRead: { 1: v1.MessageRead },
  ConversationDeleted: { 1: v1.ConversationDeleted },
  UserRegistered: { 1: v1.UserRegistered },
  ProfileUpdated: { 1: v1.ProfileUpdated },
  ConversationSettingsChanged: { 1: v1.ConversationSettingsChanged },
  DeviceRegistered: { 1: v1.DeviceRegistered },
  DeviceRemoved: { 1: v1.DeviceRemoved },
  MessagesHidden: { 1: v1.MessagesHidden },
  ConversationCleared: { 1: v1.ConversationCleared },
  ConversationDeletedForMe: { 1: v1.ConversationDeletedForMe },
  UsernameReserved: { 1: v1.UsernameReserved },
  UserErased: { 1: v1.UserErased },
};

export type EventType = keyof typeof v1;
export type EventData<T extends EventType> = z.infer<(typeof v1)[T]>;
export const CURRENT_SCHEMA_VERSION = 1;

/** A domain event as deciders produce it and evolve/projectors consume it. */
export type DomainEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];
export type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;

export type ConversationEvent = EventOf<
  | 'ConversationCreated'
  | 'MemberAdded'
  | 'MemberRemoved'
  | 'MemberRoleChanged'
  | 'ConversationUpdated'
  | 'MessageSent'
  | 'MessageEdited'
  | 'MessageRecalled'
  | 'MessagesDelivered'
  | 'MessageRead'
  | 'ConversationDeleted'
>;
export type UserEvent = EventOf<
  | 'UserRegistered'
  | 'ProfileUpdated'
  | 'ConversationSettingsChanged'
  | 'DeviceRegistered'
  | 'DeviceRemoved'
  | 'UserErased'
  | PersonalViewEventType
>;

/** User-stream events that change what the user sees of one conversation: synced to all their devices. */
export const personalViewEventTypes = ['MessagesHidden', 'ConversationCleared', 'ConversationDeletedForMe'] as const;
export type PersonalViewEventType = (typeof personalViewEventTypes)[number];
export type PersonalViewEvent = EventOf<PersonalViewEventType>;
export const isPersonalViewEvent = (event: DomainEvent): event is PersonalViewEvent =>
  (personalViewEventTypes as readonly string[]).includes(event.type);

export const isEventType = (type: string): type is EventType => Object.hasOwn(v1, type);

/** Parses stored event data, refusing unknown types and versions newer than this build knows. */
export function parseEvent(type: string, schemaVersion: number, data: unknown): DomainEvent {
  if (!isEventType(type)) {
    throw new DomainError('unknown_event_version', `unknown event type ${type}`);
  }
  const schema = eventSchemas[type][schemaVersion];
  if (!schema) {
    throw new DomainError(
      'unknown_event_version',
      `${type} schema version ${schemaVersion} is newer than this build supports (max ${CURRENT_SCHEMA_VERSION})`,
    );
  }
  return { type, data: schema.parse(data) } as DomainEvent;
}

export const eventMetadata = z.object({
  eventId: z.string(),
  originDc: z.string(),
  correlationId: z.string(),
  causationId: z.string(),
  at: z.string(),
  schemaVersion: z.number().int().positive(),
});
export type EventMetadata = z.infer<typeof eventMetadata>;
