import {
  fullView,
  isHiddenFor,
  isRecalled,
  readableEventData,
  recalledPreview,
  unreadMessages,
  type ConversationState,
  type LastMessage,
  type PersonalView,
} from '../domain/conversation.js';
import type { ConversationEvent } from '../domain/events.js';
import { conversationStream } from '../domain/streams.js';
import type { EventStore } from '../eventstore/port.js';
import type { StateCache } from '../eventstore/stateCache.js';
import type { ConversationQueries } from '../projections/ports.js';
import type { ConversationListItem, InboxEntry, ListCursor, MessageDoc, UserConversationDoc } from '../projections/model.js';
import { membershipView } from '../projections/listing.js';
import { invalid } from '../domain/errors.js';

/** Shapes of API answers, built from read models and states. */

/**
 * `directTitle` is the other member's display name in a direct conversation; `directPeerErased`
 * says that member's account was erased (their name is empty then).
 */
export function conversationListItem({ conversation: c, membership: m }: ConversationListItem, directTitle: string | null, directPeerErased = false) {
  const view = m.frozen ?? c;
  const recalledSeqs = c.recalledSeqs ?? [];
  const personal = membershipView(m);
  return {
    conversationId: c.conversationId,
    kind: c.kind,
    title: c.kind === 'direct' ? directTitle : c.title,
    ...(c.kind === 'direct' && directPeerErased ? { peerErased: true as const } : {}),
    avatar: c.avatar,
    lastSeq: view.lastSeq,
    lastMessage: view.lastMessage && !isHiddenFor(personal, view.lastMessage.seq) ? readablePreview(view.lastMessage, recalledSeqs) : null,
    lastActivityAt: view.lastActivityAt,
    unreadCount: unreadFor(view, m, recalledSeqs, personal),
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

/**
 * What the user deleted for themselves is no news either: the history they cleared counts as read,
 * and so does each message they hid.
 */
function unreadFor(view: { lastSeq: number; messageCount: number }, m: UserConversationDoc, recalledSeqs: readonly number[], personal: PersonalView): number {
  const readSeq = Math.max(m.readSeq, personal.clearedUpToSeq);
  const readMessageCount = Math.max(m.readMessageCount, personal.clearedMessageCount);
  const hiddenUnread = personal.hiddenSeqs.filter((seq) => seq > readSeq && seq <= view.lastSeq && !isRecalled(recalledSeqs, seq)).length;
  return Math.max(0, unreadMessages({ ...view, readMessageCount, readSeq, recalledSeqs }) - hiddenUnread);
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
    ...(m.erased ? { erased: true as const } : {}),
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
 * current state and with what the reader deleted for themselves (`view`). That state is loaded
 * after the read, so it knows every recall of what was read (for a former member too, whose own
 * view of the conversation stops where they left).
 */
export async function readableTimeline(
  store: EventStore,
  conversations: StateCache<ConversationState, ConversationEvent>,
  conversationId: string,
  fromRevision: number,
  maxCount: number,
  view: PersonalView = fullView(),
) {
  const events = await store.readStream(conversationStream(conversationId), { fromRevision, maxCount });
  const { recalledSeqs } = (await conversations.load(conversationId)).state;
  return events.map((e) => ({ seq: e.revision, type: e.type, data: readableEventData(e.type, e.data, e.revision, recalledSeqs, view), at: e.metadata.at }));
}

/**
 * Inbox entries as clients may read them. The inbox keeps the copy projected when the event
 * happened, and the recalls come from the conversation documents of the same read models instead
 * of rewriting every recipient's copy: the recall costs no fan-out, a rebuild gives the same
 * documents, and a read costs one document per conversation in the page, no stream folding.
 */
export async function readableInbox(
  readStore: Pick<ConversationQueries, 'getConversation'>,
  entries: InboxEntry[],
  views: ReadonlyMap<string, PersonalView> = new Map(),
): Promise<InboxEntry[]> {
  const ids = [...new Set(entries.map((e) => e.conversationId))];
  const docs = await Promise.all(ids.map((id) => readStore.getConversation(id)));
  const recalls = new Map(ids.map((id, i) => [id, docs[i]?.recalledSeqs ?? []]));
  return entries.map((e) =>
    e.stream === 'user' ? e : { ...e, data: readableEventData(e.type, e.data, e.seq, recalls.get(e.conversationId)!, views.get(e.conversationId)) },
  );
}

export const syncItem = (e: InboxEntry) => ({
  userSeq: e.userSeq,
  conversationId: e.conversationId,
  seq: e.seq,
  ...(e.stream ? { stream: e.stream } : {}),
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
