import type { ConversationEvent, ConversationKind, MessageKind, Role } from './events.js';

/**
 * Conversation state as folded from its stream. The command side decides from it, the
 * projections and the gateway read membership and counters from it.
 */
export interface MemberState {
  role: Role;
  joinedSeq: number;
  deliveredSeq: number;
  readSeq: number;
}

export interface RecentMessage {
  seq: number;
  messageId: string;
  senderId: string;
  clientMsgId: string;
  kind: MessageKind;
  sentAtMs: number;
  recalled: boolean;
}

/** What a retried send is answered with. */
export interface SentMessage {
  seq: number;
  messageId: string;
  sentAtMs: number;
}

export interface LastMessage {
  seq: number;
  messageId: string;
  senderId: string;
  kind: MessageKind;
  text: string | null;
  /** Media messages: the file's type, so a list can say "Photo" without loading the message. */
  mime?: string;
  sentAt: string;
  recalled: boolean;
  /** The sender's account was erased: nothing of the content is left. */
  erased?: true;
}

/** A recalled message's preview keeps its place and kind, nothing of its content. */
export function recalledPreview(preview: LastMessage): LastMessage {
  const { mime: _mime, ...rest } = preview;
  return { ...rest, text: null, recalled: true };
}

/** Conversation list previews are this long at most. */
export const PREVIEW_LENGTH = 120;

export interface ConversationState {
  exists: boolean;
  /** Deleted for everyone by its owner: nobody sees it or acts in it any more. */
  deleted: boolean;
  conversationId: string;
  kind: ConversationKind;
  title: string | null;
  avatar: string | null;
  announcement: string | null;
  createdBy: string;
  homeDc: string;
  /** Revision of the last event, i.e. the last seq; -1 before the stream exists. */
  lastSeq: number;
  members: Map<string, MemberState>;
  /** Former members and the seq of the event that removed them: they see nothing after it. */
  leftSeqs: Map<string, number>;
  /** Seqs of every MessageSent in order: unread counts are ranges over it. */
  messageSeqs: number[];
  /**
   * Seqs of every recalled message, ascending, for the whole stream: what clients read is redacted
   * with it long after `recent` forgot the message. Recalls are rare, so it stays small.
   */
  recalledSeqs: number[];
  /** Messages still inside the edit window, oldest first. */
  recent: Map<number, RecentMessage>;
  /**
   * Sends inside the idempotency window by clientKey, oldest first: a retry is answered from here,
   * by the write side alone, whatever the read models have projected so far.
   */
  recentByClientKey: Map<string, SentMessage>;
  lastMessage: LastMessage | null;
  createdAt: string;
  lastActivityAt: string;
}

/** Sender edits and recalls are allowed for a day; it also bounds the memory a state holds. */
export const EDIT_WINDOW_MS = 24 * 60 * 60 * 1000;
export const RECENT_MESSAGES_MAX = 10_000;
/**
 * A send retried with the same clientMsgId within a day of the original returns the original, as
 * idempotency keys of payment APIs do; a conversation busier than this many sends a day keeps the
 * keys of its latest sends only. Past that, a retry is a new message (clients give up sooner).
 */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
export const IDEMPOTENCY_KEYS_MAX = 100_000;

export const clientKey = (senderId: string, clientMsgId: string) => `${senderId}\u0000${clientMsgId}`;

export function initialConversationState(conversationId: string): ConversationState {
  return {
    exists: false,
    deleted: false,
    conversationId,
    kind: 'group',
    title: null,
    avatar: null,
    announcement: null,
    createdBy: '',
    homeDc: '',
    lastSeq: -1,
    members: new Map(),
    leftSeqs: new Map(),
    messageSeqs: [],
    recalledSeqs: [],
    recent: new Map(),
    recentByClientKey: new Map(),
    lastMessage: null,
    createdAt: '',
    lastActivityAt: '',
  };
}

/**
 * Applies one event at `seq`. States can hold thousands of members, so evolve updates the given
 * state in place and returns it: callers give it a state that holds only stored events, or a
 * private copy (see CommandHandler), never one that others read while it runs ahead of the store.
 */
export function evolveConversation(
  state: ConversationState,
  event: ConversationEvent,
  seq: number,
  at: string,
): ConversationState {
  state.lastSeq = seq;
  switch (event.type) {
    case 'ConversationCreated': {
      const d = event.data;
      state.exists = true;
      state.kind = d.kind;
      state.title = d.title;
      state.createdBy = d.createdBy;
      state.homeDc = d.homeDc;
      state.createdAt = at;
      state.lastActivityAt = at;
      for (const m of d.members) state.members.set(m.userId, member(m.role, seq));
      break;
    }
    case 'MemberAdded':
      state.members.set(event.data.userId, member(event.data.role, seq));
      state.leftSeqs.delete(event.data.userId);
      state.lastActivityAt = at;
      break;
    case 'MemberRemoved':
      state.members.delete(event.data.userId);
      state.leftSeqs.set(event.data.userId, seq);
      break;
    case 'MemberRoleChanged': {
      const m = state.members.get(event.data.userId);
      if (m) m.role = event.data.role;
      break;
    }
    case 'ConversationUpdated': {
      const d = event.data;
      if (d.title !== undefined) state.title = d.title;
      if (d.avatar !== undefined) state.avatar = d.avatar;
      if (d.announcement !== undefined) state.announcement = d.announcement;
      break;
    }
    case 'MessageSent': {
      const d = event.data;
      const sentAtMs = Date.parse(at);
      state.messageSeqs.push(seq);
      state.lastMessage = {
        seq,
        messageId: d.messageId,
        senderId: d.senderId,
        kind: d.kind,
        text: d.text === null ? null : d.text.slice(0, PREVIEW_LENGTH),
        ...(d.media ? { mime: d.media.mime } : {}),
        sentAt: at,
        recalled: false,
        ...(d.erased ? { erased: true } : {}),
      };
      state.lastActivityAt = at;
      state.recent.set(seq, { seq, messageId: d.messageId, senderId: d.senderId, clientMsgId: d.clientMsgId, kind: d.kind, sentAtMs, recalled: false });
      state.recentByClientKey.set(clientKey(d.senderId, d.clientMsgId), { seq, messageId: d.messageId, sentAtMs });
      pruneRecent(state, sentAtMs);
      // Sending implies having read everything up to one's own message.
      const sender = state.members.get(d.senderId);
      if (sender) {
        sender.deliveredSeq = seq;
        sender.readSeq = seq;
      }
      break;
    }
    case 'MessageEdited':
      if (state.lastMessage?.seq === event.data.seq) {
        state.lastMessage = { ...state.lastMessage, text: event.data.text === null ? null : event.data.text.slice(0, PREVIEW_LENGTH) };
      }
      break;
    case 'MessageRecalled': {
      const m = state.recent.get(event.data.seq);
      if (m) m.recalled = true;
      insertSeq(state.recalledSeqs, event.data.seq);
      if (state.lastMessage?.seq === event.data.seq) state.lastMessage = recalledPreview(state.lastMessage);
      break;
    }
    case 'MessagesDelivered': {
      const m = state.members.get(event.data.userId);
      if (m) m.deliveredSeq = Math.max(m.deliveredSeq, event.data.upToSeq);
      break;
    }
    case 'MessageRead': {
      const m = state.members.get(event.data.userId);
      if (m) {
        m.readSeq = Math.max(m.readSeq, event.data.upToSeq);
        m.deliveredSeq = Math.max(m.deliveredSeq, m.readSeq);
      }
      break;
    }
    case 'ConversationDeleted':
      state.deleted = true;
      break;
  }
  return state;
}

const member = (role: Role, joinedSeq: number): MemberState => ({
  role,
  joinedSeq,
  deliveredSeq: joinedSeq,
  readSeq: joinedSeq,
});

function pruneRecent(state: ConversationState, nowMs: number): void {
  for (const m of state.recent.values()) {
    if (m.sentAtMs >= nowMs - EDIT_WINDOW_MS && state.recent.size <= RECENT_MESSAGES_MAX) break;
    state.recent.delete(m.seq);
  }
  for (const [key, sent] of state.recentByClientKey) {
    if (sent.sentAtMs >= nowMs - IDEMPOTENCY_WINDOW_MS && state.recentByClientKey.size <= IDEMPOTENCY_KEYS_MAX) break;
    state.recentByClientKey.delete(key);
  }
}

/** How many of the ascending `seqs` are <= upToSeq (binary search). */
export function countUpTo(seqs: readonly number[], upToSeq: number): number {
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqs[mid]! <= upToSeq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of messages with seq <= upToSeq. */
export const messagesUpTo = (state: ConversationState, upToSeq: number) => countUpTo(state.messageSeqs, upToSeq);

/** Whether the ascending `seqs` hold `seq` (binary search). */
export const includesSeq = (seqs: readonly number[], seq: number) => seqs[countUpTo(seqs, seq) - 1] === seq;
export const isRecalled = includesSeq;

function insertSeq(seqs: number[], seq: number): void {
  if (!isRecalled(seqs, seq)) seqs.splice(countUpTo(seqs, seq), 0, seq);
}

/**
 * Unread messages of a member: those after their readSeq up to `lastSeq`, less the recalled ones
 * (a recalled message is no news). Own messages never count: sending moves the sender's readSeq.
 */
export function unreadMessages(c: {
  messageCount: number;
  /** Messages at or before readSeq, recalled ones included. */
  readMessageCount: number;
  readSeq: number;
  lastSeq: number;
  recalledSeqs: readonly number[];
}): number {
  const recalledUnread = countUpTo(c.recalledSeqs, c.lastSeq) - countUpTo(c.recalledSeqs, c.readSeq);
  return Math.max(0, c.messageCount - c.readMessageCount - recalledUnread);
}

/**
 * What one user no longer sees of a conversation (delete for me): everything up to
 * `clearedUpToSeq`, and the messages in `hiddenSeqs`. Nobody else's view changes.
 */
export interface PersonalView {
  clearedUpToSeq: number;
  /** Messages at or before clearedUpToSeq. */
  clearedMessageCount: number;
  /** Ascending; only those above clearedUpToSeq count. */
  hiddenSeqs: readonly number[];
  /** Off the user's list until a message after this seq; -1: listed. */
  removedUpToSeq: number;
}

export const fullView = (): PersonalView => ({ clearedUpToSeq: -1, clearedMessageCount: 0, hiddenSeqs: [], removedUpToSeq: -1 });

export const isHiddenFor = (view: PersonalView, seq: number) => seq <= view.clearedUpToSeq || includesSeq(view.hiddenSeqs, seq);

/**
 * An event's data as clients may read it. The log keeps a recalled message, but nothing served
 * from it carries its content again: its MessageSent (and any MessageEdited of it) keeps its place
 * in the timeline with `text`, `media` and `location` emptied and `recalled: true`. A message the
 * reader deleted for themselves keeps its place the same way, with `hidden: true`: the timeline
 * stays gap-free, so a client never mistakes it for a miss.
 */
export function readableEventData(type: string, data: unknown, seq: number, recalledSeqs: readonly number[], view: PersonalView = fullView()): unknown {
  if (type === 'MessageSent') {
    if (isRecalled(recalledSeqs, seq)) return emptiedMessage(data, { recalled: true });
    if (isHiddenFor(view, seq)) return emptiedMessage(data, { hidden: true });
  }
  if (type === 'MessageEdited') {
    const editedSeq = (data as { seq: number }).seq;
    if (isRecalled(recalledSeqs, editedSeq)) return { ...(data as object), text: null, recalled: true };
    if (isHiddenFor(view, editedSeq)) return { ...(data as object), text: null, hidden: true };
  }
  return data;
}

function emptiedMessage(data: unknown, mark: { recalled: true } | { hidden: true }): unknown {
  const emptied = { ...(data as object), text: null, media: null, ...mark };
  return 'location' in emptied ? { ...emptied, location: null } : emptied;
}

/** The last seq a user may see: everything for members, up to their removal for former members. */
export function visibleUpTo(state: ConversationState, userId: string): number | null {
  if (state.deleted) return null;
  if (state.members.has(userId)) return state.lastSeq;
  return state.leftSeqs.get(userId) ?? null;
}

export const isAdmin = (state: ConversationState, userId: string) => {
  const role = state.members.get(userId)?.role;
  return role === 'owner' || role === 'admin';
};

/**
 * Who sees an event (given the state right after it): every member, and a removed member their
 * own removal, but nothing after it.
 */
export function eventAudience(event: ConversationEvent, state: ConversationState): string[] {
  const audience = [...state.members.keys()];
  if (event.type === 'MemberRemoved') audience.push(event.data.userId);
  return audience;
}
