import type { LastMessage } from '../domain/conversation.js';
import type { Location, Media, MessageKind } from '../domain/events.js';

/**
 * Read-model documents and the writes projectors produce. Projectors emit store-neutral writes;
 * each read store (SQLite, MongoDB) applies them. Every write is keyed by document and guarded
 * by the global position of the event that produced it, so applying an event twice, or an older
 * event after a newer one, changes nothing.
 */

/** The conversation list's preview of the latest message. */
export type MessagePreview = LastMessage;

export interface ConversationDoc {
  conversationId: string;
  kind: 'direct' | 'group';
  title: string | null;
  avatar: string | null;
  announcement: string | null;
  createdBy: string;
  homeDc: string;
  createdAt: string;
  lastSeq: number;
  lastMessage: MessagePreview | null;
  lastActivityAt: string;
  messageCount: number;
  memberCount: number;
  /**
   * Seqs of the recalled messages, ascending: reads redact their content and unread counts skip
   * them. Absent from documents projected before recalls were tracked, until the conversation's
   * next event or a rebuild.
   */
  recalledSeqs?: number[];
  /** Both members of a direct conversation (its title is the other member's name); null for groups. */
  directMemberIds: string[] | null;
  /** Deleted by its owner for everyone: on nobody's list. Absent otherwise. */
  deleted?: true;
}

/** What a former member keeps seeing of the conversation: its state when they left. */
export interface FrozenView {
  lastSeq: number;
  lastMessage: MessagePreview | null;
  lastActivityAt: string;
  messageCount: number;
}

export interface UserConversationDoc {
  userId: string;
  conversationId: string;
  role: 'owner' | 'admin' | 'member';
  joinedSeq: number;
  leftSeq: number | null;
  readSeq: number;
  deliveredSeq: number;
  /** Messages at or before readSeq; unread = messageCount - readMessageCount. */
  readMessageCount: number;
  muted: boolean;
  pinned: boolean;
  archived: boolean;
  frozen: FrozenView | null;
  /**
   * What the user deleted for themselves (see PersonalView), from their own stream; absent until
   * they first do.
   */
  clearedUpToSeq?: number;
  clearedMessageCount?: number;
  hiddenSeqs?: number[];
  removedUpToSeq?: number;
}

export interface MessageDoc {
  conversationId: string;
  seq: number;
  messageId: string;
  senderId: string;
  clientMsgId: string;
  kind: MessageKind;
  text: string | null;
  media: Media | null;
  /** Location messages only; emptied (null) by a recall. */
  location?: Location | null;
  sentAt: string;
  editedAt: string | null;
  recalled: boolean;
  /** The sender's account was erased: the content is gone for good. Absent otherwise. */
  erased?: true;
}

export interface UserDoc {
  userId: string;
  username: string;
  displayName: string;
  avatar: string | null;
  createdAt: string;
  /** The account was erased: nothing is left of the profile but its id. Absent otherwise. */
  erased?: true;
}

export interface InboxEntry {
  userId: string;
  userSeq: number;
  conversationId: string;
  /**
   * The conversation's seq; for an entry from the user's own stream (`stream: 'user'`: what they
   * deleted for themselves in `conversationId`), that stream's revision.
   */
  seq: number;
  stream?: 'user';
  type: string;
  data: unknown;
  at: string;
}

export interface Docs {
  conversations: ConversationDoc;
  userConversations: UserConversationDoc;
  messages: MessageDoc;
  users: UserDoc;
}
export type Collection = keyof Docs;

/** The fields that identify a document in each collection. */
export const collectionKeys = {
  conversations: ['conversationId'],
  userConversations: ['userId', 'conversationId'],
  messages: ['conversationId', 'seq'],
  users: ['userId'],
} as const satisfies { [C in Collection]: readonly (keyof Docs[C])[] };

export type KeyOf<C extends Collection> = Pick<Docs[C], Extract<(typeof collectionKeys)[C][number], keyof Docs[C]>>;

export type Write =
  | {
      [C in Collection]: {
        kind: 'upsert';
        collection: C;
        key: KeyOf<C>;
        /** Fields set on every application. */
        set: Partial<Docs[C]>;
        /** Fields set only when the document is created. */
        setOnInsert?: Partial<Docs[C]>;
      };
    }[Collection]
  | {
      /** Appends to a user's inbox; the store assigns the next userSeq. */
      kind: 'inbox';
      entry: Omit<InboxEntry, 'userSeq'>;
    }
  | {
      /**
       * Empties what an erased account left in one read model (see scrub.ts). Applied after the
       * batch's other writes, so content projected earlier in the same batch is emptied too; content
       * after the erase arrives erased already. Idempotent, and it moves no document's position: a
       * rebuild from the erased events reaches the same documents at the same positions.
       */
      kind: 'scrub';
      target: ScrubTarget;
      userId: string;
    };

/** The read models an erased account's content may be in. */
export type ScrubTarget = 'messages' | 'conversationPreviews' | 'frozenPreviews' | 'inbox';

/** A batch of writes with the projection and event position each came from, plus the checkpoints to store. */
export interface WriteBatch {
  writes: { projection: string; position: number; write: Write }[];
  /** Checkpoints reached; a store never moves one backwards. */
  checkpoints: Record<string, number>;
  /**
   * An operator's replay: writes at or below their projection's stored checkpoint are applied
   * again, each still guarded by its document's position. Without it they are skipped, because
   * another writer (a rebuild that swapped in a fresh copy) has already applied them.
   */
  reapply?: boolean;
}

export interface ConversationListItem {
  conversation: ConversationDoc;
  membership: UserConversationDoc;
}

export interface ListCursor {
  pinned: boolean;
  lastActivityAt: string;
  conversationId: string;
}
