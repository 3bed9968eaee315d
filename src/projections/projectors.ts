import { eventAudience, messagesUpTo, type ConversationState } from '../domain/conversation.js';
import { definedOnly } from '../domain/user.js';
import { isPersonalViewEvent, type ConversationEvent, type DomainEvent, type MessageKind, type PersonalViewEvent, type UserEvent } from '../domain/events.js';
import { emptiedContent, erasedProfile } from '../privacy/erasure.js';
import type { MessageDoc, ScrubTarget, UserConversationDoc, Write } from './model.js';

/** What a projector sees of one stored event: the event, where it is, and the folded state after it. */
export interface ProjectionInput {
  event: DomainEvent;
  /** The conversation id or user id the stream belongs to. */
  streamKind: 'conversation' | 'user' | 'username';
  ownerId: string;
  seq: number;
  at: string;
  /** The conversation's state right after this event (conversation streams only). */
  conversation: ConversationState | null;
}

export interface ProjectorOptions {
  /** Groups with more members than this are pull mode: no inbox fan-out of their timeline. */
  inboxPullThreshold: number;
}

/**
 * Projectors return writes; null values belong in `set`, never in `setOnInsert` (FerretDB v1
 * drops null fields from $setOnInsert, and the stores must hold identical documents).
 */
export type Projector = (input: ProjectionInput, options: ProjectorOptions) => Write[];

const conversationInput = (input: ProjectionInput) =>
  input.streamKind === 'conversation' && input.conversation
    ? { event: input.event as ConversationEvent, state: input.conversation }
    : null;

/** On an erased account's UserErased: empty its content in `target` (see scrub.ts). */
const scrubOnErase = (input: ProjectionInput, target: ScrubTarget): Write[] | null =>
  input.streamKind === 'user' && input.event.type === 'UserErased' ? [{ kind: 'scrub', target, userId: input.ownerId }] : null;

/** conversations: one document per conversation, rewritten from the folded state. */
export const conversations: Projector = (input) => {
  const erased = scrubOnErase(input, 'conversationPreviews');
  if (erased) return erased;
  const c = conversationInput(input);
  if (!c) return [];
  const { state } = c;
  return [
    {
      kind: 'upsert',
      collection: 'conversations',
      key: { conversationId: state.conversationId },
      set: {
        kind: state.kind,
        title: state.title,
        avatar: state.avatar,
        announcement: state.announcement,
        lastSeq: state.lastSeq,
        lastMessage: state.lastMessage,
        lastActivityAt: state.lastActivityAt,
        messageCount: state.messageSeqs.length,
        memberCount: state.members.size,
        // A copy: the state is evolved in place after this write is produced.
        recalledSeqs: [...state.recalledSeqs],
        directMemberIds: state.kind === 'direct' ? [...state.members.keys()].sort() : null,
        ...(state.deleted ? { deleted: true as const } : {}),
      },
      setOnInsert: { createdBy: state.createdBy, homeDc: state.homeDc, createdAt: state.createdAt },
    },
  ];
};

const membership = (
  state: ConversationState,
  userId: string,
  set: Partial<UserConversationDoc>,
  isNew = false,
): Write => ({
  kind: 'upsert',
  collection: 'userConversations',
  key: { userId, conversationId: state.conversationId },
  set,
  ...(isNew ? { setOnInsert: { muted: false, pinned: false, archived: false } } : {}),
});

function joined(state: ConversationState, userId: string, seq: number): Write {
  const role = state.members.get(userId)?.role ?? 'member';
  // A new member starts with everything before joining read: history is not unread news.
  return membership(
    state,
    userId,
    { role, joinedSeq: seq, leftSeq: null, frozen: null, readSeq: seq, deliveredSeq: seq, readMessageCount: messagesUpTo(state, seq) },
    true,
  );
}

/** userConversations: one document per user and conversation (the conversation list). */
export const userConversations: Projector = (input) => {
  const erased = scrubOnErase(input, 'frozenPreviews');
  if (erased) return erased;
  if (input.streamKind === 'user' && input.event.type === 'ConversationSettingsChanged') {
    const { conversationId, ...settings } = (input.event as Extract<UserEvent, { type: 'ConversationSettingsChanged' }>).data;
    return [{ kind: 'upsert', collection: 'userConversations', key: { userId: input.ownerId, conversationId }, set: definedOnly(settings) }];
  }
  if (input.streamKind === 'user' && isPersonalViewEvent(input.event)) {
    const { event } = input;
    return [{ kind: 'upsert', collection: 'userConversations', key: { userId: input.ownerId, conversationId: event.data.conversationId }, set: personalView(event) }];
  }
  const c = conversationInput(input);
  if (!c) return [];
  const { event, state } = c;
  const seq = input.seq;
  switch (event.type) {
    case 'ConversationCreated':
      return event.data.members.map((m) => joined(state, m.userId, seq));
    case 'MemberAdded':
      return [joined(state, event.data.userId, seq)];
    case 'MemberRemoved':
      return [
        membership(state, event.data.userId, {
          leftSeq: seq,
          // Nobody moves a former member's read marker again, so nothing may stay unread for them.
          readSeq: seq,
          readMessageCount: state.messageSeqs.length,
          frozen: {
            lastSeq: seq,
            lastMessage: state.lastMessage,
            lastActivityAt: state.lastActivityAt,
            messageCount: state.messageSeqs.length,
          },
        }),
      ];
    case 'MemberRoleChanged':
      return [membership(state, event.data.userId, { role: event.data.role })];
    case 'MessageSent':
      return [
        membership(state, event.data.senderId, {
          readSeq: seq,
          deliveredSeq: seq,
          readMessageCount: state.messageSeqs.length,
        }),
      ];
    case 'MessagesDelivered': {
      const m = state.members.get(event.data.userId);
      return m ? [membership(state, event.data.userId, { deliveredSeq: m.deliveredSeq })] : [];
    }
    case 'MessageRead': {
      const m = state.members.get(event.data.userId);
      if (!m) return [];
      return [
        membership(state, event.data.userId, {
          readSeq: m.readSeq,
          deliveredSeq: m.deliveredSeq,
          readMessageCount: messagesUpTo(state, m.readSeq),
        }),
      ];
    }
    default:
      return [];
  }
};

/** The user's own deletions, as their membership document keeps them. */
function personalView(event: PersonalViewEvent): Partial<UserConversationDoc> {
  if (event.type === 'MessagesHidden') return { hiddenSeqs: event.data.seqs };
  const { upToSeq, messageCount } = event.data;
  const cleared = { clearedUpToSeq: upToSeq, clearedMessageCount: messageCount };
  return event.type === 'ConversationDeletedForMe' ? { ...cleared, removedUpToSeq: upToSeq } : cleared;
}

/** messages: the history by seq, with edits and recalls applied. */
export const messages: Projector = (input) => {
  const erased = scrubOnErase(input, 'messages');
  if (erased) return erased;
  const c = conversationInput(input);
  if (!c) return [];
  const { event, state } = c;
  const conversationId = state.conversationId;
  switch (event.type) {
    case 'MessageSent': {
      const d = event.data;
      return [
        {
          kind: 'upsert',
          collection: 'messages',
          key: { conversationId, seq: input.seq },
          set: {
            messageId: d.messageId,
            senderId: d.senderId,
            clientMsgId: d.clientMsgId,
            kind: d.kind,
            text: d.text,
            media: d.media,
            // null once an erased location message's: written, as a scrub leaves it.
            ...(d.location !== undefined ? { location: d.location } : {}),
            sentAt: input.at,
            editedAt: null,
            recalled: false,
            ...(d.erased ? { erased: true as const } : {}),
          },
        },
      ];
    }
    case 'MessageEdited':
      return [{ kind: 'upsert', collection: 'messages', key: { conversationId, seq: event.data.seq }, set: { text: event.data.text, editedAt: input.at } }];
    case 'MessageRecalled':
      return [{ kind: 'upsert', collection: 'messages', key: { conversationId, seq: event.data.seq }, set: recalledMessage(state.recent.get(event.data.seq)?.kind) }];
    default:
      return [];
  }
};

/** A recall empties the message's content. */
const recalledMessage = (kind: MessageKind | undefined): Partial<MessageDoc> => ({ ...emptiedContent(kind), recalled: true });

/** Who gets a conversation event in their inbox. */
export function inboxRecipients(event: ConversationEvent, state: ConversationState, pullThreshold: number): string[] {
  if (state.members.size <= pullThreshold || event.type === 'ConversationCreated') return eventAudience(event, state);
  // Pull mode: only events about one user reach that user's inbox; the rest is pulled by seq.
  switch (event.type) {
    case 'MemberAdded':
    case 'MemberRemoved':
    case 'MemberRoleChanged':
    case 'MessagesDelivered':
    case 'MessageRead':
      return [event.data.userId];
    default:
      return [];
  }
}

/**
 * inbox: per-user timeline for multi-device sync ("everything since userSeq N"), with what the user
 * deleted for themselves from their own stream, so every device of theirs learns it.
 */
export const inbox: Projector = (input, options) => {
  const erased = scrubOnErase(input, 'inbox');
  if (erased) return erased;
  if (input.streamKind === 'user' && isPersonalViewEvent(input.event)) {
    const { event } = input;
    return [
      {
        kind: 'inbox',
        entry: { userId: input.ownerId, conversationId: event.data.conversationId, seq: input.seq, stream: 'user', type: event.type, data: event.data, at: input.at },
      },
    ];
  }
  const c = conversationInput(input);
  if (!c) return [];
  return inboxRecipients(c.event, c.state, options.inboxPullThreshold).map((userId) => ({
    kind: 'inbox',
    entry: {
      userId,
      conversationId: c.state.conversationId,
      seq: input.seq,
      type: c.event.type,
      data: c.event.data,
      at: input.at,
    },
  }));
};

/** users: public profile per user (never the password hash). */
export const users: Projector = (input) => {
  if (input.streamKind !== 'user') return [];
  const event = input.event as UserEvent;
  const key = { userId: input.ownerId };
  switch (event.type) {
    case 'UserRegistered':
      return [
        {
          kind: 'upsert',
          collection: 'users',
          key,
          set: { username: event.data.username, displayName: event.data.displayName, avatar: null },
          setOnInsert: { createdAt: input.at },
        },
      ];
    case 'ProfileUpdated':
      return [{ kind: 'upsert', collection: 'users', key, set: definedOnly(event.data) }];
    case 'UserErased':
      return [{ kind: 'upsert', collection: 'users', key, set: { ...erasedProfile, erased: true } }];
    default:
      return [];
  }
};

export const projectors = { conversations, userConversations, messages, inbox, users } satisfies Record<string, Projector>;
export type ProjectionName = keyof typeof projectors;
export const projectionNames = Object.keys(projectors) as ProjectionName[];
