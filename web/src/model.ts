import type { ChatEvent, ConversationDetail, ConversationListItem, Message, Presence } from 'chat-backend/client';

/** A message on screen: stored (with a seq), or still on its way (only a clientMsgId). */
export interface MessageView {
  seq: number | null;
  clientMsgId: string;
  senderId: string;
  text: string | null;
  sentAt: string;
  edited: boolean;
  recalled: boolean;
  /** The sender's account was erased: nothing of the content is left. */
  erased: boolean;
}

export type Tick = 'sending' | 'sent' | 'delivered' | 'read';

/** Pinned first, then the most recent activity: the order the server lists them in. */
export function ranked(conversations: Iterable<ConversationListItem>): ConversationListItem[] {
  return [...conversations].sort(
    (a, b) => Number(b.pinned) - Number(a.pinned) || b.lastActivityAt.localeCompare(a.lastActivityAt) || a.conversationId.localeCompare(b.conversationId),
  );
}

export const fromHistory = (m: Message): MessageView => ({
  seq: m.seq,
  clientMsgId: m.clientMsgId,
  senderId: m.senderId,
  text: m.text,
  sentAt: m.sentAt,
  edited: m.editedAt !== null,
  recalled: m.recalled,
  erased: m.erased === true,
});

/** A conversation's name: a direct one is named after the other member, unless they erased their account. */
export const titleOf = (item: ConversationListItem | undefined): string =>
  item?.peerErased ? 'Deleted account' : (item?.title ?? 'Conversation');

/** What a message or its preview says in place of content it no longer has. */
export const standIn = (m: { recalled: boolean; erased?: boolean }): string | null =>
  m.erased ? 'Message deleted' : m.recalled ? 'This message was recalled' : null;

/** The messages of a conversation after one event; the same map when the event changes none. */
export function withEvent(messages: Map<number, MessageView>, event: ChatEvent): Map<number, MessageView> {
  const next = new Map(messages);
  switch (event.type) {
    case 'MessageSent':
      next.set(event.seq, {
        seq: event.seq,
        clientMsgId: event.data.clientMsgId,
        senderId: event.data.senderId,
        text: event.data.text,
        sentAt: event.at,
        edited: false,
        recalled: event.data.recalled ?? false,
        erased: event.data.erased === true,
      });
      return next;
    case 'MessageEdited': {
      const message = next.get(event.data.seq);
      if (message) next.set(event.data.seq, { ...message, text: event.data.text, edited: true });
      return next;
    }
    case 'MessageRecalled': {
      const message = next.get(event.data.seq);
      if (message) next.set(event.data.seq, { ...message, text: null, recalled: true });
      return next;
    }
    default:
      return messages;
  }
}

/** The conversation list entry after an event; null when only the server can tell (reload it). */
export function listItemWithEvent(item: ConversationListItem, event: ChatEvent, me: string): ConversationListItem | null {
  const moved = { ...item, lastSeq: Math.max(item.lastSeq, event.seq) };
  switch (event.type) {
    case 'MessageSent': {
      const fromOther = event.data.senderId !== me && event.seq > item.readSeq;
      const lastMessage = { seq: event.seq, messageId: event.data.messageId, senderId: event.data.senderId, kind: event.data.kind, text: event.data.text, sentAt: event.at, recalled: false, ...(event.data.erased ? { erased: true as const } : {}) };
      return { ...moved, lastMessage, lastActivityAt: event.at, unreadCount: item.unreadCount + (fromOther ? 1 : 0) };
    }
    case 'MessageEdited':
      return item.lastMessage?.seq === event.data.seq ? { ...moved, lastMessage: { ...item.lastMessage, text: event.data.text } } : moved;
    case 'MessageRead':
      if (event.data.userId !== me) return moved;
      // Reading up to the last message clears the count; a partial read needs the server's count.
      return event.data.upToSeq >= (item.lastMessage?.seq ?? 0) ? { ...moved, readSeq: event.data.upToSeq, unreadCount: 0 } : null;
    case 'MessageRecalled':
    case 'ConversationUpdated':
    case 'MemberAdded':
    case 'MemberRemoved':
      return null;
    default:
      return moved;
  }
}

/** The members' markers after a delivered or read event: what the ticks are drawn from. */
export function detailWithEvent(detail: ConversationDetail, event: ChatEvent): ConversationDetail {
  if (event.type !== 'MessagesDelivered' && event.type !== 'MessageRead') return detail;
  const { userId, upToSeq } = event.data;
  const members = detail.members.map((m) => {
    if (m.userId !== userId) return m;
    const deliveredSeq = Math.max(m.deliveredSeq, upToSeq);
    return event.type === 'MessageRead' ? { ...m, deliveredSeq, readSeq: Math.max(m.readSeq, upToSeq) } : { ...m, deliveredSeq };
  });
  return { ...detail, members, lastSeq: Math.max(detail.lastSeq, event.seq) };
}

/** Read once every other member read it; delivered once every other member has it. */
export function tickOf(message: MessageView, detail: ConversationDetail | undefined, me: string): Tick {
  if (message.seq === null) return 'sending';
  const others = detail?.members.filter((m) => m.userId !== me) ?? [];
  if (!others.length) return 'sent';
  if (others.every((m) => m.readSeq >= message.seq!)) return 'read';
  if (others.every((m) => m.deliveredSeq >= message.seq!)) return 'delivered';
  return 'sent';
}

export function presenceText(presence: Presence | undefined, now: Date = new Date()): string {
  if (!presence) return '';
  if (presence.online) return 'online';
  if (!presence.lastSeenAt) return 'offline';
  const seen = new Date(presence.lastSeenAt);
  const sameDay = seen.toDateString() === now.toDateString();
  return `last seen ${sameDay ? 'today' : seen.toLocaleDateString()} at ${seen.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
}

export const timeOf = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
