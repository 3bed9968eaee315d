import {
  ChatApi,
  ChatConnection,
  newClientMsgId,
  type ChatEvent,
  type ConnectionStatus,
  type ConversationDetail,
  type ConversationListItem,
  type Presence,
  type TypingNotice,
} from 'chat-backend/client';
import { detailWithEvent, fromHistory, listItemWithEvent, withEvent, type MessageView } from './model.js';

const SESSION_KEY = 'chat.session';
const PAGE = 30;
/** Renew the typing indicator this often while the user types (the protocol asks for 2–3 s). */
const TYPING_RENEW_MS = 2500;

export interface Me {
  token: string;
  userId: string;
  username: string;
}

interface Thread {
  messages: Map<number, MessageView>;
  /** Own messages not acknowledged yet, by clientMsgId. */
  pending: Map<string, MessageView>;
  /** False once the first message of the conversation is on screen. */
  hasOlder: boolean;
  loadingOlder: boolean;
}

/**
 * Everything the screen shows, fed by REST for the initial state and by the SDK's connection for
 * what happens next; a change calls the listeners, and the views re-render from here.
 */
export class Chat {
  me: Me | null = null;
  status: ConnectionStatus = 'closed';
  conversations = new Map<string, ConversationListItem>();
  details = new Map<string, ConversationDetail>();
  threads = new Map<string, Thread>();
  typing = new Map<string, Map<string, ReturnType<typeof setTimeout>>>();
  presence = new Map<string, Presence>();
  names = new Map<string, string>();
  openId: string | null = null;
  private connection: ChatConnection | null = null;
  private readonly api = new ChatApi({ baseUrl: '' });
  private readonly listeners = new Set<() => void>();
  private lastTypingAt = 0;

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** A session kept from an earlier visit, if its token still works. */
  async resume(): Promise<void> {
    const saved = localStorage.getItem(SESSION_KEY);
    if (!saved) return;
    try {
      await this.start(JSON.parse(saved) as Me);
    } catch {
      this.forget();
    }
  }

  async signUp(username: string, password: string): Promise<void> {
    await this.api.register({ username, password });
    await this.logIn(username, password);
  }

  async logIn(username: string, password: string): Promise<void> {
    const { token, userId } = await this.api.login({ username, password });
    const me = { token, userId, username };
    localStorage.setItem(SESSION_KEY, JSON.stringify(me));
    await this.start(me);
  }

  async logOut(): Promise<void> {
    await this.api.logout().catch(() => undefined);
    this.forget();
  }

  private forget(): void {
    localStorage.removeItem(SESSION_KEY);
    this.connection?.close();
    this.connection = null;
    this.me = null;
    this.api.token = undefined;
    this.conversations.clear();
    this.details.clear();
    this.threads.clear();
    this.openId = null;
    this.changed();
  }

  private async start(me: Me): Promise<void> {
    this.api.token = me.token;
    await this.reloadConversations();
    this.me = me;
    this.names.set(me.userId, me.username);
    const conversations = Object.fromEntries([...this.conversations.values()].map((c) => [c.conversationId, c.lastSeq]));
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
    const connection = new ChatConnection({ api: this.api, url, position: { conversations } });
    this.connection = connection;
    connection.on('event', (event) => this.apply(event));
    connection.on('typing', (notice) => this.showTyping(notice));
    connection.on('presence', ({ userId, online, lastSeenAt }) => this.setPresence({ userId, online, lastSeenAt }));
    connection.on('status', (status) => {
      this.status = status;
      if (status === 'unauthenticated') this.forget();
      this.changed();
    });
    // Conversations that started while this page was away are in the list, not in the replay.
    connection.on('synced', () => void this.reloadConversations());
    connection.open();
    this.changed();
  }

  private async reloadConversations(): Promise<void> {
    const { items } = await this.api.conversations({ limit: 200 });
    for (const item of items) {
      // The list follows the read models, which may trail the live events by a moment.
      const shown = this.conversations.get(item.conversationId);
      if (!shown || item.lastSeq >= shown.lastSeq) this.conversations.set(item.conversationId, item);
      // A conversation new to this page: its history comes by REST, its events after what the list shows.
      if (!shown) this.connection?.track(item.conversationId, item.lastSeq);
    }
    this.changed();
  }

  private apply(event: ChatEvent): void {
    const { conversationId: id } = event;
    const thread = this.thread(id);
    thread.messages = withEvent(thread.messages, event);
    if (event.type === 'MessageSent') {
      thread.pending.delete(event.data.clientMsgId);
      this.stopTyping(id, event.data.senderId);
      if (event.data.senderId !== this.me?.userId) this.connection?.markDelivered(id, event.seq);
    }
    const detail = this.details.get(id);
    if (detail) this.details.set(id, detailWithEvent(detail, event));
    const item = this.conversations.get(id);
    const updated = item && listItemWithEvent(item, event, this.me!.userId);
    if (updated) this.conversations.set(id, updated);
    else void this.reloadConversations();
    if (id === this.openId) this.markOpenRead();
    this.changed();
  }

  private thread(conversationId: string): Thread {
    let thread = this.threads.get(conversationId);
    if (!thread) {
      thread = { messages: new Map(), pending: new Map(), hasOlder: true, loadingOlder: false };
      this.threads.set(conversationId, thread);
    }
    return thread;
  }

  async open(conversationId: string): Promise<void> {
    this.openId = conversationId;
    this.changed();
    const detail = await this.api.conversation(conversationId);
    this.details.set(conversationId, detail);
    const peer = detail.kind === 'direct' ? detail.members.find((m) => m.userId !== this.me?.userId) : undefined;
    if (peer) this.setPresence(await this.api.presence(peer.userId));
    if (this.thread(conversationId).messages.size < PAGE) await this.loadOlder(conversationId);
    this.markOpenRead();
    this.changed();
  }

  /** The page before the oldest message on screen: the history scrolls upwards without end. */
  async loadOlder(conversationId: string): Promise<void> {
    const thread = this.thread(conversationId);
    if (!thread.hasOlder || thread.loadingOlder) return;
    thread.loadingOlder = true;
    try {
      const oldest = Math.min(...thread.messages.keys(), (this.conversations.get(conversationId)?.lastSeq ?? 0) + 1);
      const { items } = await this.api.messages(conversationId, { beforeSeq: oldest, limit: PAGE });
      const messages = new Map(thread.messages);
      for (const item of items) if (!messages.has(item.seq)) messages.set(item.seq, fromHistory(item));
      thread.messages = messages;
      thread.hasOlder = items.length === PAGE;
    } finally {
      thread.loadingOlder = false;
      this.changed();
    }
  }

  /**
   * While the page is in view, an open conversation is read up to its last message: not up to its
   * last seq, which the MessageRead event of this very read moves on.
   */
  private markOpenRead(): void {
    const item = this.openId ? this.conversations.get(this.openId) : undefined;
    const lastMessageSeq = item?.lastMessage?.seq;
    if (!item || lastMessageSeq === undefined || document.visibilityState !== 'visible') return;
    if (item.readSeq < lastMessageSeq) this.connection?.markRead(item.conversationId, lastMessageSeq);
  }

  onVisible(): void {
    this.connection?.ping(true);
    this.markOpenRead();
  }

  send(conversationId: string, text: string): void {
    const me = this.me!;
    const clientMsgId = newClientMsgId();
    const view: MessageView = { seq: null, clientMsgId, senderId: me.userId, text, sentAt: new Date().toISOString(), edited: false, recalled: false, erased: false };
    this.thread(conversationId).pending.set(clientMsgId, view);
    this.lastTypingAt = 0;
    this.changed();
    // The ack may come before or after the event; the event alone puts the message in its place.
    void this.connection!.send(conversationId, text, clientMsgId).catch((error: Error) => {
      this.thread(conversationId).pending.delete(clientMsgId);
      alert(`Not sent: ${error.message}`);
      this.changed();
    });
  }

  /** Called as the draft changes: starts and renews the indicator, and ends it when the draft is cleared. */
  draftChanged(conversationId: string, draft: string): void {
    const now = Date.now();
    if (!draft) {
      if (this.lastTypingAt) this.connection?.typing(conversationId, false);
      this.lastTypingAt = 0;
    } else if (now - this.lastTypingAt > TYPING_RENEW_MS) {
      this.connection?.typing(conversationId, true);
      this.lastTypingAt = now;
    }
  }

  async edit(conversationId: string, seq: number, text: string): Promise<void> {
    await this.api.editMessage(conversationId, seq, text);
  }

  async recall(conversationId: string, seq: number): Promise<void> {
    await this.api.recallMessage(conversationId, seq);
  }

  async setSettings(conversationId: string, settings: { pinned?: boolean; muted?: boolean }): Promise<void> {
    const result = await this.api.settings(conversationId, settings);
    const item = this.conversations.get(conversationId);
    if (item) this.conversations.set(conversationId, { ...item, pinned: result.pinned, muted: result.muted });
    this.changed();
  }

  /** Opens the direct conversation with a user (the server answers the existing one if there is one). */
  async startChat(username: string): Promise<void> {
    const user = await this.api.findUser(username);
    const { conversationId } = await this.api.createConversation({ kind: 'direct', memberId: user.userId });
    await this.reloadConversations();
    await this.open(conversationId);
  }

  async createGroup(title: string, usernames: string[]): Promise<void> {
    const members = await Promise.all(usernames.map((u) => this.api.findUser(u)));
    const { conversationId } = await this.api.createConversation({ kind: 'group', title, memberIds: members.map((m) => m.userId) });
    await this.reloadConversations();
    await this.open(conversationId);
  }

  /** A member's display name, fetched once. */
  nameOf(userId: string): string {
    const known = this.names.get(userId);
    if (known !== undefined) return known;
    this.names.set(userId, '…');
    void this.api.user(userId).then((profile) => {
      this.names.set(userId, profile.displayName ?? profile.username);
      this.changed();
    });
    return '…';
  }

  private showTyping({ conversationId, userId, typing, expiresInMs }: TypingNotice): void {
    this.stopTyping(conversationId, userId);
    if (typing) {
      const typists = this.typing.get(conversationId) ?? new Map();
      this.typing.set(conversationId, typists);
      // Shown until stopped, or for expiresInMs should the stop be lost with a connection.
      typists.set(userId, setTimeout(() => this.stopTyping(conversationId, userId), expiresInMs ?? 6000));
    }
    this.changed();
  }

  private stopTyping(conversationId: string, userId: string): void {
    const typists = this.typing.get(conversationId);
    if (!typists?.has(userId)) return;
    clearTimeout(typists.get(userId));
    typists.delete(userId);
    this.changed();
  }

  private setPresence(presence: Presence): void {
    this.presence.set(presence.userId, presence);
    this.changed();
  }
}
