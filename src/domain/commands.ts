import type { ConversationKind, Role } from './events.js';

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
  | { type: 'sendMessage'; senderId: string; messageId: string; clientMsgId: string; text: string }
  | { type: 'editMessage'; actorId: string; seq: number; text: string; nowMs: number }
  | { type: 'recallMessage'; actorId: string; seq: number; nowMs: number }
  | { type: 'markDelivered'; userId: string; upToSeq: number }
  | { type: 'markRead'; userId: string; upToSeq: number };

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
  | { type: 'removeDevice'; token: string };
