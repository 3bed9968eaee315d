import type { ConversationKind, Location, Media, Role } from './events.js';

/** What a message carries besides text: one stored media file (already checked as the sender's) or a place. */
export type Attachment = { media: Media } | { location: Location };

/** Commands are imperative requests; deciders turn them into events or refuse them. */
export type ConversationCommand =
  | {
      type: 'createConversation';
      conversationId: string;
      kind: ConversationKind;
      title: string | null;
      creatorId: string;
      memberIds: string[];
      homeDc: string;
      maxGroupSize: number;
    }
  | { type: 'addMember'; actorId: string; userId: string; maxGroupSize: number }
  | { type: 'removeMember'; actorId: string; userId: string }
  | { type: 'changeRole'; actorId: string; userId: string; role: Role }
  | {
      type: 'updateConversation';
      actorId: string;
      title?: string;
      avatar?: string | null;
      announcement?: string | null;
    }
  | {
      type: 'sendMessage';
      senderId: string;
      messageId: string;
      clientMsgId: string;
      /** The message, or a media message's caption; null for a location or an uncaptioned media message. */
      text: string | null;
      attachment?: Attachment;
    }
  | { type: 'editMessage'; actorId: string; seq: number; text: string; nowMs: number }
  | { type: 'recallMessage'; actorId: string; seq: number; nowMs: number }
  | { type: 'markDelivered'; userId: string; upToSeq: number }
  | { type: 'markRead'; userId: string; upToSeq: number }
  | { type: 'deleteConversation'; actorId: string };

export type UserCommand =
  | { type: 'registerUser'; userId: string; username: string; displayName: string; passwordHash: string }
  | { type: 'updateProfile'; displayName?: string; avatar?: string | null }
  | {
      type: 'changeConversationSettings';
      conversationId: string;
      muted?: boolean;
      pinned?: boolean;
      archived?: boolean;
    }
  | { type: 'registerDevice'; token: string; platform: 'android' | 'ios' | 'web' }
  | { type: 'removeDevice'; token: string }
  | { type: 'eraseUser'; usernameFreeAt: string }
  /** `seqs` are messages the user can see in the conversation: the caller checked them against its state. */
  | { type: 'hideMessages'; conversationId: string; seqs: number[] }
  /**
   * Delete history for me up to `upToSeq` (a seq the user can see), holding `messageCount` messages;
   * with `removeFromList`, the conversation also leaves their list until the next message.
   */
  | { type: 'clearConversation'; conversationId: string; upToSeq: number; messageCount: number; removeFromList: boolean };
