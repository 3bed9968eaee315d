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

export interface MessageRange {
  afterSeq?: number;
  beforeSeq?: number;
  /** Nothing past this seq is returned (a former member's leftSeq). */
  maxSeq: number;
  limit: number;
}

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

export interface ListOptions {
  limit: number;
  cursor?: ListCursor;
  archived?: boolean;
}

/**
 * The read-model port: applies projector writes with their checkpoints, and answers the queries
 * the API needs. Implementations: stores/sqlite.ts (embedded), stores/mongo.ts (production).
 */
export interface ReadStore {
  /**
   * Applies the writes in order and stores the checkpoints; a repeat application changes nothing.
   * The stored checkpoints are the truth: a write at or below its projection's stored checkpoint is
   * skipped (unless the batch is a replay), and a checkpoint never moves backwards, so a runner whose
   * in-memory checkpoints fell behind (another process swapped a rebuilt copy in) is harmless.
   * Feed consumers without documents (push) store their checkpoint with an empty write list.
   */
  apply(batch: WriteBatch): Promise<void>;
  checkpoints(): Promise<Record<string, number>>;

  getConversation(conversationId: string): Promise<ConversationDoc | null>;
  /** Current members (not those who left), ordered by user id. */
  listMembers(conversationId: string): Promise<UserConversationDoc[]>;
  /** Pinned first, then by last activity, newest first. */
  listConversations(userId: string, options: ListOptions): Promise<ConversationListItem[]>;
  /** Ascending by seq; with only beforeSeq, the newest page before it. */
  listMessages(conversationId: string, range: MessageRange): Promise<MessageDoc[]>;
  findMessageByClientMsgId(conversationId: string, senderId: string, clientMsgId: string): Promise<MessageDoc | null>;
  listInbox(userId: string, afterUserSeq: number, limit: number): Promise<InboxEntry[]>;
  getUsers(userIds: string[]): Promise<UserDoc[]>;
  /** Records sent messages for analytics; a fact whose eventId is already there is dropped. */
  recordMessageFacts(facts: MessageFact[]): Promise<void>;
  analytics(query: AnalyticsQuery): Promise<AnalyticsReport>;
  /**
   * Everyone who is a current member of a conversation with this user: direct conversations, and
   * groups of at most `maxGroupSize` members (the audience of presence changes).
   */
  listContacts(userId: string, maxGroupSize: number): Promise<string[]>;
  /** Whether both users are current members of at least one common conversation. */
  sharesConversation(userId: string, otherId: string): Promise<boolean>;
  /** Stores users' last activity times (ISO 8601); a stored time never moves backwards. */
  saveLastSeen(times: Record<string, string>): Promise<void>;
  getLastSeen(userIds: string[]): Promise<Record<string, string>>;
  /** Every document of every projection in a stable order, for comparing two stores. */
  dump(): Promise<Record<string, unknown[]>>;
  close(): Promise<void>;
}
