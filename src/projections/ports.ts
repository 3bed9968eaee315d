import type { FencingToken } from '../lease/port.js';
import type {
  ConversationDoc,
  ConversationListItem,
  InboxEntry,
  ListCursor,
  MessageDoc,
  UserConversationDoc,
  UserDoc,
  WriteBatch,
} from './model.js';

/*
 * The read side's ports, one concern each: a component depends on the ones it uses, so its
 * signature says what it touches. Adapters: stores/sqlite.ts (embedded), stores/mongo.ts
 * (production); each implements all of them (ReadStoreAdapter).
 */

// Projections

/** Where projectors' writes land, with the checkpoints of every feed consumer. */
export interface ProjectionSink {
  /**
   * Applies the writes in order and stores the checkpoints; a repeat application changes nothing.
   * The stored checkpoints are the truth: a write at or below its projection's stored checkpoint is
   * skipped (unless the batch is a replay), and a checkpoint never moves backwards, so a runner whose
   * in-memory checkpoints fell behind (another process swapped a rebuilt copy in) is harmless.
   * Feed consumers without documents (push) store their checkpoint with an empty write list.
   * With a fence (a lease holder's token) the batch is refused with LeaseLost, and nothing written,
   * unless the lease is still that holder's at that epoch.
   */
  apply(batch: WriteBatch, fence?: FencingToken): Promise<void>;
  checkpoints(): Promise<Record<string, number>>;
}

// Conversations, messages and users

export interface ListOptions {
  limit: number;
  cursor?: ListCursor;
  archived?: boolean;
  /** Also the conversations off the list (listing.ts): deleted for everyone, or by the user for themselves. */
  includeUnlisted?: boolean;
}

export interface MessageRange {
  afterSeq?: number;
  beforeSeq?: number;
  /** Nothing past this seq is returned (a former member's leftSeq). */
  maxSeq: number;
  limit: number;
  /** What the reader deleted for themselves: nothing at or below clearedUpToSeq, nothing in hiddenSeqs. */
  hidden?: { clearedUpToSeq: number; hiddenSeqs: readonly number[] };
}

export interface ConversationQueries {
  getConversation(conversationId: string): Promise<ConversationDoc | null>;
  /** Current members (not those who left), ordered by user id. */
  listMembers(conversationId: string): Promise<UserConversationDoc[]>;
  /** In the order of ranking.ts: pinned first, then by last activity, newest first; listed ones only (listing.ts) unless asked. */
  listConversations(userId: string, options: ListOptions): Promise<ConversationListItem[]>;
  /** Ascending by seq; with only beforeSeq, the newest page before it. */
  listMessages(conversationId: string, range: MessageRange): Promise<MessageDoc[]>;
  getUsers(userIds: string[]): Promise<UserDoc[]>;
}

// Media

/** A message that carries a media file: who may see it may download the file. */
export interface MediaReference {
  conversationId: string;
  seq: number;
}

export interface MediaReferenceQueries {
  /** Messages carrying the file with this hash (a recall takes its message out), at most `limit`. */
  mediaReferences(hash: string, limit: number): Promise<MediaReference[]>;
}

// Inbox

export interface InboxQueries {
  listInbox(userId: string, afterUserSeq: number, limit: number): Promise<InboxEntry[]>;
}

// Contacts and last seen (presence)

export interface ContactQueries {
  /**
   * Everyone who is a current member of a conversation with this user: direct conversations, and
   * groups of at most `maxGroupSize` members (the audience of presence changes).
   */
  listContacts(userId: string, maxGroupSize: number): Promise<string[]>;
  /** Whether both users are current members of at least one common conversation. */
  sharesConversation(userId: string, otherId: string): Promise<boolean>;
}

/** Not a projection: written by the gateway's presence tracker, so rebuilds leave it alone. */
export interface LastSeenStore {
  /** Stores users' last activity times (ISO 8601); a stored time never moves backwards. */
  saveLastSeen(times: Record<string, string>): Promise<void>;
  getLastSeen(userIds: string[]): Promise<Record<string, string>>;
}

// Analytics

/** One sent message, as the analytics consumer records it (idempotent by eventId). */
export interface MessageFact {
  eventId: string;
  conversationId: string;
  senderId: string;
  /** ISO timestamp of the send. */
  at: string;
}

export interface AnalyticsReport {
  /** Hours as `YYYY-MM-DDTHH:00Z`, newest first. */
  messagesPerHour: { conversationId: string; hour: string; messages: number }[];
  /** Days as `YYYY-MM-DD`, newest first. */
  dailyActiveSenders: { day: string; senders: number }[];
  busiestConversations: { conversationId: string; messages: number }[];
}

export interface AnalyticsQuery {
  /** Only messages at or after this ISO timestamp. */
  since: string;
  limit: number;
}

export interface AnalyticsStore {
  /** Records sent messages for analytics; a fact whose eventId is already there is dropped. */
  recordMessageFacts(facts: MessageFact[]): Promise<void>;
  analytics(query: AnalyticsQuery): Promise<AnalyticsReport>;
}

// The whole adapter

/** One read-model adapter with every port: what the composition root wires and tests compare. */
export interface ReadStoreAdapter
  extends ProjectionSink,
    ConversationQueries,
    InboxQueries,
    ContactQueries,
    MediaReferenceQueries,
    LastSeenStore,
    AnalyticsStore {
  /** Every document of every projection in a stable order, for comparing two stores. */
  dump(): Promise<Record<string, unknown[]>>;
  close(): Promise<void>;
}
