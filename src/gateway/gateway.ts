import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { bearerToken, type Principal, type TokenService } from '../api/auth.js';
import { describeError } from '../api/errors.js';
import { RateLimitedError, type RateLimits } from '../api/limits.js';
import type { ChatService } from '../commands/service.js';
import { eventAudience, readableEventData } from '../domain/conversation.js';
import { conflict, DomainError } from '../domain/errors.js';
import type { ConversationEvent } from '../domain/events.js';
import type { EventStore, RecordedEvent, Subscription } from '../eventstore/port.js';
import type { ConversationFeed, FeedItem } from '../feed/index.js';
import type { ContactQueries, ConversationQueries, InboxQueries } from '../projections/ports.js';
import { readableInbox, readableTimeline } from '../api/views.js';
import { FloodGuard, holdBack, type FloodOptions } from './flood.js';
import {
  clientFrame,
  serializeEventFrame,
  type ClientFrame,
  type ErrorFrame,
  type PresenceFrame,
  type SkippedConversation,
  type SyncedFrame,
  type TypingFrame,
} from './frames.js';
import type { PresenceTracker, PresenceView } from './presence.js';
import { Session } from './session.js';
import { TypingTracker, type TypingOptions } from './typing.js';

export interface GatewayDeps {
  store: EventStore;
  service: ChatService;
  readStore: InboxQueries & Pick<ContactQueries, 'listContacts'> & Pick<ConversationQueries, 'getConversation'>;
  tokens: TokenService;
  /** The process's one conversation feed, followed for live delivery. */
  feed: ConversationFeed;
  waitForProjections(position: number): Promise<boolean>;
  logger: Logger;
  maxPayloadBytes: number;
  heartbeatIntervalMs: number;
  /** A socket silent for longer is dropped. */
  presenceTimeoutMs: number;
  presence: PresenceTracker;
  typing: TypingOptions;
  /** Groups with more members: typing is throttled per sender and presence is not fanned out. */
  inboxPullThreshold: number;
  limits: RateLimits;
  flood: FloodOptions;
}

export const WS_PATH = '/v1/ws';
/** A sync replays at most this many events; `complete: false` tells the client to sync again. */
const MAX_REPLAY = 10_000;
const REPLAY_PAGE = 500;
/** How long a graceful stop waits for frames being handled before closing the sockets anyway. */
const DRAIN_TIMEOUT_MS = 5000;

/**
 * The WebSocket gateway: authenticates sockets, fans every conversation event out to the online
 * devices of its audience, answers client frames and replays what a reconnecting client missed.
 */
export class Gateway {
  private readonly sessions = new Map<string, Set<Session>>();
  private readonly wss: WebSocketServer;
  private feedPosition = 0;
  private subscription: Subscription | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  /** Frames being handled; a graceful stop lets them finish so their acks still go out. */
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private readonly typing: TypingTracker;

  constructor(private readonly deps: GatewayDeps) {
    // Compression off: it costs CPU per socket per frame, and chat frames are small.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxPayloadBytes, perMessageDeflate: false });
    this.typing = new TypingTracker(deps.typing, (conversationId, userId, typing) =>
      this.forwardTyping(conversationId, userId, typing).catch((err) => deps.logger.error({ err }, 'typing fan-out failed')),
    );
  }

  get connectionCount(): number {
    let n = 0;
    for (const set of this.sessions.values()) n += set.size;
    return n;
  }

  async start(server: Server): Promise<void> {
    this.feedPosition = this.deps.feed.position;
    // Delivery is done while taking the item: nothing is left to handle later.
    this.subscription = this.deps.feed.follow(
      { name: 'gateway', take: (item) => this.dispatch(item), handle: () => {} },
      { onError: (err) => this.deps.logger.error({ err }, 'gateway feed failed; retrying') },
    );
    server.on('upgrade', (req, socket, head) => void this.upgrade(req, socket, head));
    this.heartbeat = setInterval(() => this.beat(), this.deps.heartbeatIntervalMs);
    this.deps.presence.onAnnounce((userId, view) =>
      void this.announcePresence(userId, view).catch((err) => this.deps.logger.error({ err }, 'presence fan-out failed')),
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    await Promise.race([Promise.allSettled(this.inFlight), new Promise((r) => setTimeout(r, DRAIN_TIMEOUT_MS).unref())]);
    this.typing.close();
    for (const set of this.sessions.values()) for (const s of set) s.socket.close(1001, 'server going away');
    await this.subscription?.close();
    await new Promise((resolve) => this.wss.close(resolve));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) return refuse(socket, 404, 'Not Found');
    const token = bearerToken(req.headers.authorization, url.searchParams.get('token'));
    let principal: Principal;
    try {
      if (!token) throw new Error('missing token');
      principal = await this.deps.tokens.verify(token);
    } catch {
      return refuse(socket, 401, 'Unauthorized');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connect(ws, principal, req.socket.remoteAddress ?? 'unknown'));
  }

  private connect(ws: WebSocket, principal: Principal, remoteAddress: string): void {
    const session = new Session(ws, principal, remoteAddress, new FloodGuard(this.deps.flood));
    let set = this.sessions.get(principal.userId);
    if (!set) this.sessions.set(principal.userId, (set = new Set()));
    set.add(session);
    this.deps.presence.connected(principal.userId);
    ws.on('pong', () => session.markAlive());
    ws.on('message', (data, isBinary) => {
      const handling = this.onMessage(session, data, isBinary);
      this.inFlight.add(handling);
      void handling.finally(() => this.inFlight.delete(handling));
    });
    ws.on('error', (err) => this.deps.logger.debug({ err, userId: principal.userId }, 'socket error'));
    ws.on('close', () => {
      set.delete(session);
      if (set.size === 0) this.sessions.delete(principal.userId);
      this.deps.presence.disconnected(principal.userId);
    });
  }

  /**
   * Pings every socket and drops those silent for too long. A socket still silent now would pass
   * the timeout before the next beat, so it goes now: nothing stays past the timeout.
   */
  private beat(): void {
    const silentLimit = Date.now() - (this.deps.presenceTimeoutMs - this.deps.heartbeatIntervalMs);
    for (const set of this.sessions.values()) {
      for (const s of set) {
        if (s.lastAliveAt < silentLimit) s.socket.terminate();
        else s.socket.ping();
      }
    }
  }

  private dispatch({ recorded, stream, event, state }: FeedItem): void {
    this.feedPosition = recorded.position;
    if (state === null) return;
    this.noteActivity(stream.id, event, recorded.metadata.at);
    const audience = eventAudience(event, state).filter((u) => this.sessions.has(u));
    if (audience.length === 0) return;
    const frame = serializeEventFrame({
      type: 'event',
      conversationId: stream.id,
      seq: recorded.revision,
      event: { type: recorded.type, data: this.readableLive(stream.id, recorded), at: recorded.metadata.at },
    });
    for (const userId of audience) {
      for (const s of this.sessions.get(userId) ?? []) s.deliver(stream.id, recorded.revision, frame);
    }
  }

  /**
   * A lagging feed can bring a message here after it was recalled; it then goes out without its
   * content, like every other read after the recall. The feed's own state is as of this event, so
   * the recalls come from the write side's newest state. It is peeked, never loaded: a store read
   * per live message would cost the hot path a round trip, and a recall this instance has not seen
   * yet still reaches the client as its own event right after.
   */
  private readableLive(conversationId: string, recorded: RecordedEvent): unknown {
    if (recorded.type !== 'MessageSent' && recorded.type !== 'MessageEdited') return recorded.data;
    const recalledSeqs = this.deps.service.conversations.peek(conversationId)?.recalledSeqs;
    return recalledSeqs ? readableEventData(recorded.type, recorded.data, recorded.revision, recalledSeqs) : recorded.data;
  }

  /** Sends and reads are user activity wherever they came from (REST or WebSocket); delivery acks are not. */
  private noteActivity(conversationId: string, event: ConversationEvent, at: string): void {
    if (event.type === 'MessageSent') {
      this.deps.presence.touch(event.data.senderId, at);
      this.typing.sent(conversationId, event.data.senderId);
    } else if (event.type === 'MessageRead') {
      this.deps.presence.touch(event.data.userId, at);
    }
  }

  private async onMessage(session: Session, data: RawData, isBinary: boolean): Promise<void> {
    session.markAlive();
    let ref: string | undefined;
    try {
      // Every frame is charged, even one that turns out not to be JSON.
      const verdict = await session.flood.admit();
      if (verdict !== 'ok') holdBack(session.socket, verdict);
      if (verdict === 'close') return;
      let raw: unknown;
      try {
        if (isBinary) throw new Error('binary');
        raw = JSON.parse(data.toString());
      } catch {
        session.sendJson({ type: 'error', code: 'invalid_json', message: 'frames are JSON text' });
        return;
      }
      ref = typeof (raw as { ref?: unknown })?.ref === 'string' ? (raw as { ref: string }).ref.slice(0, 128) : undefined;
      if (this.stopping) throw new DomainError('unavailable', 'the server is shutting down; reconnect and send again');
      if (verdict === 'refuse') throw new RateLimitedError('too many frames: slow down; this one was dropped', 1);
      const frame = clientFrame.parse(raw);
      await this.handle(session, frame);
    } catch (error) {
      const { status: _status, ...described } = describeError(error);
      if (described.code === 'internal') this.deps.logger.error({ err: error }, 'frame failed');
      const frame: ErrorFrame = { type: 'error', ...(ref ? { ref } : {}), ...described };
      session.sendJson(frame);
    }
  }

  private async handle(session: Session, frame: ClientFrame): Promise<void> {
    const { service } = this.deps;
    const ctx = { correlationId: frame.ref ?? `ws-${session.principal.deviceId}` };
    const userId = session.userId;
    switch (frame.type) {
      case 'send': {
        await this.deps.limits.send(userId, session.remoteAddress);
        // Acknowledged only now: service.send resolves after the append is durable.
        const sent = await service.send(userId, frame.conversationId, frame.clientMsgId, frame.text, ctx);
        session.sendJson({ type: 'ack', ref: frame.ref, conversationId: frame.conversationId, messageId: sent.messageId, seq: sent.seq });
        return;
      }
      case 'read': {
        const { readSeq, unreadCount } = await service.markRead(userId, frame.conversationId, frame.upToSeq, ctx);
        session.sendJson({ type: 'ack', ref: frame.ref, conversationId: frame.conversationId, readSeq, unreadCount });
        return;
      }
      case 'delivered': {
        const { deliveredSeq } = await service.markDelivered(userId, frame.conversationId, frame.upToSeq, ctx);
        session.sendJson({ type: 'ack', ref: frame.ref, conversationId: frame.conversationId, deliveredSeq });
        return;
      }
      case 'typing': {
        const state = await service.currentMember(userId, frame.conversationId);
        this.deps.presence.touch(userId, new Date().toISOString());
        if (frame.typing) this.typing.started(frame.conversationId, userId, state.members.size > this.deps.inboxPullThreshold);
        else this.typing.stopped(frame.conversationId, userId);
        return;
      }
      case 'ping':
        if (frame.foreground) this.deps.presence.touch(userId, new Date().toISOString());
        session.sendJson({ type: 'pong', ref: frame.ref });
        return;
      case 'sync':
        return this.sync(session, frame);
    }
  }

  /** The conversation's other online members, from its current state. */
  private async forwardTyping(conversationId: string, userId: string, typing: boolean): Promise<void> {
    const { state } = await this.deps.service.conversations.load(conversationId);
    const frame: TypingFrame = typing
      ? { type: 'typing', conversationId, userId, typing, expiresInMs: this.deps.typing.ttlMs }
      : { type: 'typing', conversationId, userId, typing };
    // Whichever is smaller: the members, or the users online here.
    const candidates = state.members.size <= this.sessions.size ? state.members.keys() : this.sessions.keys();
    const audience = [...candidates].filter((u) => u !== userId && state.members.has(u));
    this.sendToUsers(audience, JSON.stringify(frame));
  }

  /** A user's presence goes to their contacts who are online (large groups excluded, see listContacts). */
  private async announcePresence(userId: string, view: PresenceView): Promise<void> {
    const contacts = await this.deps.readStore.listContacts(userId, this.deps.inboxPullThreshold);
    const frame: PresenceFrame = { type: 'presence', userId, ...view };
    this.sendToUsers(contacts, JSON.stringify(frame));
  }

  private sendToUsers(userIds: Iterable<string>, frame: string): void {
    for (const u of userIds) for (const s of this.sessions.get(u) ?? []) s.send(frame);
  }

  /**
   * Replays what the client missed, then releases the live events held meanwhile. Everything up
   * to the feed position at the start comes from the read models (once they include it) and the
   * store; the rest arrives live. Each conversation is replayed from one source, so every event
   * reaches the client once and each conversation's seqs ascend: one named in `conversations`
   * from its stream after the client's seq (its inbox entries are passed over: a pull-mode group's
   * inbox holds only some of its events), any other from the inbox. Named conversations the user
   * may not read are found before anything is replayed and reported in `synced.skipped`, so a
   * sync always ends with `synced`. The `synced` frame says whether the replay was complete.
   */
  private async sync(session: Session, frame: Extract<ClientFrame, { type: 'sync' }>): Promise<void> {
    if (session.syncing) throw conflict('a sync is already running on this socket');
    session.beginReplay();
    try {
      const { named, skipped } = await this.readableConversations(session.userId, frame.conversations ?? {});
      let complete = await this.deps.waitForProjections(this.feedPosition);
      let replayed = 0;
      let nextUserSeq: number | undefined;
      if (frame.afterUserSeq !== undefined) {
        const inbox = await this.replayInbox(session, frame.afterUserSeq, new Set(named.map((c) => c.conversationId)));
        nextUserSeq = inbox.nextUserSeq;
        replayed += inbox.replayed;
        complete &&= inbox.complete;
      }
      for (const { conversationId, afterSeq, maxSeq } of named) {
        const wanted = maxSeq - afterSeq;
        const budget = Math.max(0, MAX_REPLAY - replayed);
        if (wanted <= 0) continue;
        if (wanted > budget) complete = false;
        if (budget === 0) continue;
        const { store, service } = this.deps;
        const items = await readableTimeline(store, service.conversations, conversationId, afterSeq + 1, Math.min(wanted, budget));
        for (const { seq, ...event } of items) {
          if (session.replay(conversationId, seq, serializeEventFrame({ type: 'event', conversationId, seq, event }))) replayed++;
        }
      }
      const synced: SyncedFrame = { type: 'synced', ref: frame.ref, nextUserSeq, replayed, complete, skipped };
      session.sendJson(synced);
    } finally {
      session.endReplay();
    }
  }

  /** The named conversations this user may read, with the seqs to replay; the others, and why not. */
  private async readableConversations(userId: string, positions: Record<string, number>) {
    const named: { conversationId: string; afterSeq: number; maxSeq: number }[] = [];
    const skipped: SkippedConversation[] = [];
    for (const [conversationId, afterSeq] of Object.entries(positions)) {
      try {
        const { maxSeq } = await this.deps.service.visibleConversation(userId, conversationId);
        named.push({ conversationId, afterSeq, maxSeq });
      } catch (error) {
        const code = error instanceof DomainError ? error.code : null;
        if (code !== 'not_found' && code !== 'not_a_member') throw error;
        skipped.push({ conversationId, code });
      }
    }
    return { named, skipped };
  }

  /** Replays the inbox after `afterUserSeq`, passing over the conversations replayed from their streams. */
  private async replayInbox(session: Session, afterUserSeq: number, fromStreams: ReadonlySet<string>) {
    let nextUserSeq = afterUserSeq;
    let replayed = 0;
    for (;;) {
      const entries = await this.deps.readStore.listInbox(session.userId, nextUserSeq, REPLAY_PAGE);
      for (const e of await readableInbox(this.deps.readStore, entries)) {
        nextUserSeq = e.userSeq;
        if (fromStreams.has(e.conversationId)) continue;
        const { conversationId, seq, userSeq } = e;
        const event = { type: e.type, data: e.data, at: e.at };
        if (session.replay(conversationId, seq, serializeEventFrame({ type: 'event', conversationId, seq, userSeq, event }))) replayed++;
      }
      if (entries.length < REPLAY_PAGE) return { nextUserSeq, replayed, complete: true };
      if (replayed >= MAX_REPLAY) return { nextUserSeq, replayed, complete: false };
    }
  }
}

function refuse(socket: Duplex, status: number, reason: string): void {
  socket.write(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}
