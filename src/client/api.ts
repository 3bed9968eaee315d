import type {
  ConversationDetail,
  ConversationListItem,
  ConversationSettings,
  ConversationsQuery,
  CreateConversationInput,
  LoginInput,
  Message,
  MessagesQuery,
  Presence,
  Profile,
  ReadMarker,
  Receipts,
  RegisteredUser,
  RegisterInput,
  Sent,
  Session,
  SettingsInput,
  SyncItem,
  TimelineItem,
} from './types.js';

/** An answer of the API other than 2xx: `code` is the documented error code (docs/PROTOCOL.md, Errors). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiOptions {
  /** Where the server is, e.g. http://localhost:8080; '' in a page served by the server itself. */
  baseUrl: string;
  token?: string;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined>;

const queryString = (query: Query = {}) => {
  const pairs = Object.entries(query).filter((pair): pair is [string, string | number | boolean] => pair[1] !== undefined);
  return pairs.length ? `?${new URLSearchParams(pairs.map(([k, v]) => [k, String(v)]))}` : '';
};

const path = (...segments: (string | number)[]) => segments.map((s) => encodeURIComponent(String(s))).join('/');

/** The REST API of docs and README, one typed method per route. */
export class ChatApi {
  token: string | undefined;
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;

  constructor(options: ApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.token = options.token;
    // A bare reference to the global fetch loses its `this` in browsers.
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  async request<T>(method: string, route: string, body?: unknown, query?: Query): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await this.fetch(`${this.baseUrl}/v1/${route}${queryString(query)}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const error = parsed?.error ?? {};
      throw new ApiError(res.status, error.code ?? 'internal', error.message ?? res.statusText, error.retryAfterSeconds);
    }
    return parsed as T;
  }

  register(input: RegisterInput) {
    return this.request<RegisteredUser>('POST', 'users', input);
  }

  /** Logs in, and uses the token for the calls that follow. */
  async login(input: LoginInput): Promise<Session> {
    const session = await this.request<Session>('POST', 'sessions', input);
    this.token = session.token;
    return session;
  }

  /** The token is refused from now on, by REST and at the WebSocket upgrade. */
  async logout(): Promise<void> {
    await this.request<void>('DELETE', 'sessions/current');
    this.token = undefined;
  }

  /**
   * Erases the account for good (README, "Erasing an account"): its messages, names and username can
   * no longer be read by anyone, and every token of it stops working.
   */
  async eraseAccount(password: string): Promise<{ userId: string; erased: true; usernameFreeAt: string | null }> {
    const erased = await this.request<{ userId: string; erased: true; usernameFreeAt: string | null }>('DELETE', 'me', { password });
    this.token = undefined;
    return erased;
  }

  findUser(username: string) {
    return this.request<RegisteredUser>('GET', 'users', undefined, { username });
  }

  user(userId: string) {
    return this.request<Profile>('GET', path('users', userId));
  }

  presence(userId: string) {
    return this.request<Presence>('GET', path('users', userId, 'presence'));
  }

  /** A direct conversation is unique per pair: creating it again answers the same one. */
  createConversation(input: CreateConversationInput) {
    return this.request<ConversationDetail>('POST', 'conversations', input);
  }

  conversations(query: ConversationsQuery = {}) {
    return this.request<{ items: ConversationListItem[]; nextCursor: string | null }>('GET', 'conversations', undefined, query);
  }

  conversation(conversationId: string) {
    return this.request<ConversationDetail>('GET', path('conversations', conversationId));
  }

  settings(conversationId: string, settings: SettingsInput) {
    return this.request<ConversationSettings>('PUT', path('conversations', conversationId, 'settings'), settings);
  }

  /** Idempotent by clientMsgId: a retry answers the original messageId and seq. */
  send(conversationId: string, clientMsgId: string, text: string) {
    return this.request<Sent>('POST', path('conversations', conversationId, 'messages'), { clientMsgId, text });
  }

  /** Ascending by seq; with beforeSeq alone, the newest page before it. */
  messages(conversationId: string, query: MessagesQuery = {}) {
    return this.request<{ items: Message[] }>('GET', path('conversations', conversationId, 'messages'), undefined, query);
  }

  editMessage(conversationId: string, seq: number, text: string) {
    return this.request<{ seq: number; eventSeq: number }>('PATCH', path('conversations', conversationId, 'messages', seq), { text });
  }

  recallMessage(conversationId: string, seq: number) {
    return this.request<{ seq: number; eventSeq: number }>('DELETE', path('conversations', conversationId, 'messages', seq));
  }

  receipts(conversationId: string, seq: number) {
    return this.request<Receipts>('GET', path('conversations', conversationId, 'messages', seq, 'receipts'));
  }

  markRead(conversationId: string, upToSeq: number) {
    return this.request<ReadMarker>('POST', path('conversations', conversationId, 'read'), { upToSeq });
  }

  markDelivered(conversationId: string, upToSeq: number) {
    return this.request<{ deliveredSeq: number }>('POST', path('conversations', conversationId, 'delivered'), { upToSeq });
  }

  /** The conversation's timeline after `afterSeq`, gap-free: what fills a seq gap. */
  events(conversationId: string, query: { afterSeq?: number; limit?: number } = {}) {
    return this.request<{ items: TimelineItem[] }>('GET', path('conversations', conversationId, 'events'), undefined, query);
  }

  /** Everything in my inbox after a userSeq. */
  sync(query: { afterUserSeq?: number; limit?: number } = {}) {
    return this.request<{ items: SyncItem[]; nextUserSeq: number; hasMore: boolean }>('GET', 'sync', undefined, query);
  }
}
