import { isRecalled, readableEventData, recalledPreview, unreadMessages, type ConversationState, type LastMessage } from '../domain/conversation.js';
import type { ConversationEvent } from '../domain/events.js';
import { conversationStream } from '../domain/streams.js';
import type { EventStore } from '../eventstore/port.js';
import type { StateCache } from '../eventstore/stateCache.js';
import type { ConversationQueries } from '../projections/ports.js';
import type { ConversationListItem, InboxEntry, ListCursor, MessageDoc, UserConversationDoc } from '../projections/model.js';
import { invalid } from '../domain/errors.js';

/** Shapes of API answers, built from read models and states. */

export function conversationListItem({ conversation: c, membership: m }: ConversationListItem, directTitle: string | null) {
  const view = m.frozen ?? c;
  const recalledSeqs = c.recalledSeqs ?? [];
  return {
    conversationId: c.conversationId,
    kind: c.kind,
    title: c.kind === 'direct' ? directTitle : c.title,
    avatar: c.avatar,
    lastSeq: view.lastSeq,
    lastMessage: view.lastMessage && readablePreview(view.lastMessage, recalledSeqs),
    lastActivityAt: view.lastActivityAt,
    unreadCount: unreadMessages({ ...view, readMessageCount: m.readMessageCount, readSeq: m.readSeq, recalledSeqs }),
    readSeq: m.readSeq,
    deliveredSeq: m.deliveredSeq,
    role: m.role,
    muted: m.muted,
    pinned: m.pinned,
    archived: m.archived,
    joinedSeq: m.joinedSeq,
    leftSeq: m.leftSeq,
  };
}

/** A former member's frozen preview was taken before later recalls; the current list of them decides. */
const readablePreview = (preview: LastMessage, recalledSeqs: readonly number[]): LastMessage =>
  isRecalled(recalledSeqs, preview.seq) ? recalledPreview(preview) : preview;

/** A conversation as seen by one user; a former member sees it as it was when they left. */
export function conversationDetail(state: ConversationState, maxSeq: number) {
  return {
    conversationId: state.conversationId,
    kind: state.kind,
    title: state.title,
    avatar: state.avatar,
    announcement: state.announcement,
    createdBy: state.createdBy,
    createdAt: state.createdAt,
    // The markers let a client show sent / delivered / read ticks on its own messages.
    members: [...state.members].map(([userId, m]) => ({
      userId,
      role: m.role,
      joinedSeq: m.joinedSeq,
      deliveredSeq: m.deliveredSeq,
      readSeq: m.readSeq,
    })),
    lastSeq: maxSeq,
  };
}

export function messageItem(m: MessageDoc) {
  return {
    seq: m.seq,
    messageId: m.messageId,
    senderId: m.senderId,
    clientMsgId: m.clientMsgId,
    kind: m.kind,
    text: m.text,
    media: m.media,
    ...(m.location ? { location: m.location } : {}),
    sentAt: m.sentAt,
    editedAt: m.editedAt,
    recalled: m.recalled,
  };
}

/**
 * Receipts of one message: of the current members who were there when it was sent (the sender
 * aside), who has received it and who has read it. Reading implies having received.
 */
export function messageReceipts(message: MessageDoc, members: UserConversationDoc[]) {
  const recipients = members.filter((m) => m.userId !== message.senderId && m.joinedSeq < message.seq);
  return {
    seq: message.seq,
    messageId: message.messageId,
    senderId: message.senderId,
    recipients: recipients.length,
    deliveredTo: recipients.filter((m) => m.deliveredSeq >= message.seq).map((m) => m.userId),
    readBy: recipients.filter((m) => m.readSeq >= message.seq).map((m) => m.userId),
  };
}

/**
 * Stored events of a conversation as clients may read them, redacted with the recalls of its
 * current state. That state is loaded after the read, so it knows every recall of what was read
 * (for a former member too, whose own view of the conversation stops where they left).
 */
export async function readableTimeline(
  store: EventStore,
  conversations: StateCache<ConversationState, ConversationEvent>,
  conversationId: string,
  fromRevision: number,
  maxCount: number,
) {
  const events = await store.readStream(conversationStream(conversationId), { fromRevision, maxCount });
  const { recalledSeqs } = (await conversations.load(conversationId)).state;
  return events.map((e) => ({ seq: e.revision, type: e.type, data: readableEventData(e.type, e.data, e.revision, recalledSeqs), at: e.metadata.at }));
}

/**
 * Inbox entries as clients may read them. The inbox keeps the copy projected when the event
 * happened, and the recalls come from the conversation documents of the same read models instead
 * of rewriting every recipient's copy: the recall costs no fan-out, a rebuild gives the same
 * documents, and a read costs one document per conversation in the page, no stream folding.
 */
export async function readableInbox(readStore: Pick<ConversationQueries, 'getConversation'>, entries: InboxEntry[]): Promise<InboxEntry[]> {
  const ids = [...new Set(entries.map((e) => e.conversationId))];
  const docs = await Promise.all(ids.map((id) => readStore.getConversation(id)));
  const recalls = new Map(ids.map((id, i) => [id, docs[i]?.recalledSeqs ?? []]));
  return entries.map((e) => ({ ...e, data: readableEventData(e.type, e.data, e.seq, recalls.get(e.conversationId)!) }));
}

export const syncItem = (e: InboxEntry) => ({
  userSeq: e.userSeq,
  conversationId: e.conversationId,
  seq: e.seq,
  type: e.type,
  data: e.data,
  at: e.at,
});

export const encodeCursor = (c: ListCursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

export function decodeCursor(cursor: string): ListCursor {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof c.pinned === 'boolean' && typeof c.lastActivityAt === 'string' && typeof c.conversationId === 'string') {
      return { pinned: c.pinned, lastActivityAt: c.lastActivityAt, conversationId: c.conversationId };
    }
  } catch {
    // falls through to the error below
  }
  throw invalid('cursor is not one this server issued');
}
