import { ApiError, type ChatApi } from './api.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { newClientMsgId } from './ids.js';
import { Listeners } from './listeners.js';
import { Timelines } from './timelines.js';
import type { ChatEvent, PresenceNotice, Sent, SyncedNotice, TimelineItem, TypingNotice } from './types.js';

/**
 * What the connection needs of a WebSocket: the browser's, or the `ws` package's in Node 20 (which
 * has no global WebSocket). The handlers take `never` so that both libraries' own event types fit.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;
/** Codes of a refused send that a later retry may get through; anything else will never be stored. */
const RETRIABLE = new Set(['rate_limited', 'internal', 'unavailable', 'home_dc_unavailable']);

/** Where to resume: the inbox position, and the last seq per conversation. */
export interface Position {
  /** Set it (0 for everything) to have conversations you never named replayed from the inbox. */
  afterUserSeq?: number;
  conversations?: Record<string, number>;
}

export type ConnectionStatus = 'connecting' | 'online' | 'offline' | 'unauthenticated' | 'closed';

export interface ConnectionOptions {
  /** Its token authenticates the socket; it fills gaps and tells a refused token from a server away. */
  api: ChatApi;
  /** The WebSocket endpoint, e.g. ws://localhost:8080/v1/ws. */
  url: string;
  WebSocket?: WebSocketConstructor;
  position?: Position;
  backoff?: BackoffOptions;
  /** A ping this often; a socket silent for twice as long is taken for dead and replaced. */
  heartbeatMs?: number;
}

export interface ConnectionEvents extends Record<string, unknown> {
  /** Every conversation event once, in seq order per conversation. */
  event: ChatEvent;
  typing: TypingNotice;
  presence: PresenceNotice;
  synced: SyncedNotice;
  status: ConnectionStatus;
  /** A refused frame that no pending call was waiting for. */
  error: { code: string; message: string };
}

interface PendingSend {
  conversationId: string;
  text: string;
  promise: Promise<Sent>;
  resolve(sent: Sent): void;
  reject(error: Error): void;
}

type Marker = 'read' | 'delivered';

/**
 * A WebSocket session that survives disconnects: it reconnects with backoff, resumes with `sync`
 * from its last position, fills seq gaps from the timeline, retries unacknowledged sends with the
 * same clientMsgId (the server acks a repeat with the original message), and surfaces each
 * conversation event exactly once, in order.
 */
export class ChatConnection {
  status: ConnectionStatus = 'closed';
  private readonly listeners = new Listeners<ConnectionEvents>();
  private readonly timelines: Timelines;
  private afterUserSeq: number | undefined;
  private readonly outbox = new Map<string, PendingSend>();
  /**
   * The highest marker asked for per conversation and kind. One not yet acked goes out again after
   * a reconnect; one at or below it is never sent, as it would move nothing.
   */
  private readonly markers = new Map<string, { kind: Marker; conversationId: string; upToSeq: number; acked: boolean }>();
  /** The ref of each marker frame in flight, and its marker's key. */
  private readonly markerRefs = new Map<string, string>();
  private readonly fillingGaps = new Set<string>();
  private socket: WebSocketLike | null = null;
  private attempt = 0;
  private lastFrameAt = 0;
  private refs = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private readonly WebSocket: WebSocketConstructor;

  constructor(private readonly options: ConnectionOptions) {
    this.timelines = new Timelines(options.position?.conversations);
    this.afterUserSeq = options.position?.afterUserSeq;
    const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocket) throw new Error('no WebSocket here: pass one (e.g. the ws package) as options.WebSocket');
    this.WebSocket = WebSocket;
  }

  on<K extends keyof ConnectionEvents>(name: K, listener: (value: ConnectionEvents[K]) => void): () => void {
    return this.listeners.on(name, listener);
  }

  open(): void {
    if (this.status !== 'closed' && this.status !== 'unauthenticated') return;
    this.connect();
  }

  /** Stops for good: no reconnect, and sends still unacknowledged fail. */
  close(): void {
    this.setStatus('closed');
    clearTimeout(this.reconnectTimer);
    this.stopHeartbeat();
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    for (const pending of this.outbox.values()) pending.reject(new Error('connection closed'));
    this.outbox.clear();
  }

  /** Resume here next time (e.g. after a page reload): pass it back as `options.position`. */
  position(): Position {
    return { afterUserSeq: this.afterUserSeq, conversations: this.timelines.position() };
  }

  /** The application has this conversation up to `lastSeq` (it read it by REST): surface only what follows. */
  track(conversationId: string, lastSeq: number): void {
    this.timelines.track(conversationId, lastSeq);
  }

  /**
   * Sends a text message, resolved with its messageId and seq once it is durable. Across reconnects
   * it is sent again with the same clientMsgId, so it is stored once whatever got lost.
   */
  send(conversationId: string, text: string, clientMsgId: string = newClientMsgId()): Promise<Sent> {
    const existing = this.outbox.get(clientMsgId);
    if (existing) return existing.promise;
    if (this.status === 'closed') return Promise.reject(new Error('connection closed'));
    let settle!: Pick<PendingSend, 'resolve' | 'reject'>;
    const promise = new Promise<Sent>((resolve, reject) => (settle = { resolve, reject }));
    this.outbox.set(clientMsgId, { conversationId, text, promise, ...settle });
    this.transmitSend(clientMsgId);
    return promise;
  }

  /** Moves my read marker (reading implies delivery); kept and sent again until acknowledged. */
  markRead(conversationId: string, upToSeq: number): void {
    this.moveMarker('read', conversationId, upToSeq);
  }

  /** Says this device has the messages up to `upToSeq` (not user activity). */
  markDelivered(conversationId: string, upToSeq: number): void {
    this.moveMarker('delivered', conversationId, upToSeq);
  }

  /** Ephemeral: dropped while offline. Renew `true` every 2–3 s while the user types. */
  typing(conversationId: string, typing = true): void {
    this.transmit({ type: 'typing', conversationId, typing });
  }

  /** `foreground: true` says the app is open, which counts as activity for last seen. */
  ping(foreground = false): void {
    this.transmit({ type: 'ping', foreground });
  }

  private connect(): void {
    this.setStatus('connecting');
    const url = `${this.options.url}?token=${encodeURIComponent(this.options.api.token ?? '')}`;
    const socket = new this.WebSocket(url);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.lastFrameAt = Date.now();
      this.startHeartbeat(socket);
      // The events missed while away: `sync` goes first, so no live event overtakes the replay.
      this.timelines.dropHeld();
      this.sendSync();
      for (const clientMsgId of this.outbox.keys()) this.transmitSend(clientMsgId);
      this.markerRefs.clear();
      for (const [key, marker] of this.markers) if (!marker.acked) this.transmitMarker(key);
    };
    socket.onmessage = (message: { data: unknown }) => {
      this.lastFrameAt = Date.now();
      this.receive(JSON.parse(String(message.data)));
    };
    socket.onclose = () => this.lost(socket, opened);
    socket.onerror = () => {
      // A close follows every error; reconnecting is decided there.
    };
  }

  /** The socket is gone (closed, or silent past the heartbeat): reconnect, unless it was replaced or closed on purpose. */
  private lost(socket: WebSocketLike, opened: boolean): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.stopHeartbeat();
    this.setStatus('offline');
    void this.reconnect(opened);
  }

  private async reconnect(opened: boolean): Promise<void> {
    // A browser cannot see why an upgrade was refused: ask REST whether the token is still good.
    if (!opened && (await this.tokenRefused())) {
      this.setStatus('unauthenticated');
      return;
    }
    if (this.status !== 'offline') return;
    this.reconnectTimer = setTimeout(() => this.connect(), backoffDelay(this.attempt++, this.options.backoff ?? DEFAULT_BACKOFF));
  }

  private async tokenRefused(): Promise<boolean> {
    try {
      await this.options.api.conversations({ limit: 1 });
      return false;
    } catch (error) {
      return error instanceof ApiError && error.status === 401;
    }
  }

  private sendSync(): void {
    const conversations = this.timelines.position();
    this.transmit({
      type: 'sync',
      ...(this.afterUserSeq === undefined ? {} : { afterUserSeq: this.afterUserSeq }),
      ...(Object.keys(conversations).length ? { conversations } : {}),
    });
  }

  private receive(frame: { type: string; ref?: string; [field: string]: unknown }): void {
    switch (frame.type) {
      case 'event': {
        const { conversationId, seq, event } = frame as unknown as { conversationId: string; seq: number; event: Omit<TimelineItem, 'seq'> };
        this.admit(conversationId, { seq, ...event });
        return;
      }
      case 'synced':
        return this.synced(frame as unknown as SyncedNotice);
      case 'ack':
        return this.acked(frame);
      case 'typing':
      case 'presence': {
        const { type, ...notice } = frame;
        this.listeners.emit(type, notice as never);
        return;
      }
      case 'error':
        return this.refused(frame as unknown as { ref?: string; code: string; message: string; retryAfterSeconds?: number });
    }
  }

  private admit(conversationId: string, item: TimelineItem): void {
    const event = { conversationId, ...item } as ChatEvent;
    for (const ready of this.timelines.admit(event)) this.listeners.emit('event', ready);
    if (this.timelines.gap(conversationId)) void this.fillGaps(conversationId);
  }

  /** Reads the missing seqs from the timeline; a failure waits for the next try or the next sync. */
  private async fillGaps(conversationId: string): Promise<void> {
    if (this.fillingGaps.has(conversationId)) return;
    this.fillingGaps.add(conversationId);
    let failures = 0;
    try {
      for (let gap = this.timelines.gap(conversationId); gap && this.status !== 'closed'; gap = this.timelines.gap(conversationId)) {
        try {
          const limit = Math.min(1000, gap.beforeSeq - gap.afterSeq - 1);
          const { items } = await this.options.api.events(conversationId, { afterSeq: gap.afterSeq, limit });
          for (const item of items) this.admit(conversationId, item);
          failures = 0;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, backoffDelay(failures++, this.options.backoff ?? DEFAULT_BACKOFF)));
        }
      }
    } finally {
      this.fillingGaps.delete(conversationId);
    }
  }

  private synced(notice: SyncedNotice): void {
    if (notice.nextUserSeq !== undefined) this.afterUserSeq = notice.nextUserSeq;
    for (const skipped of notice.skipped) if (skipped.code === 'not_a_member') this.timelines.forget(skipped.conversationId);
    this.attempt = 0;
    this.setStatus('online');
    this.listeners.emit('synced', notice);
    // The replay stopped early: the positions moved with what it brought, so go on from there.
    if (!notice.complete) this.sendSync();
  }

  private acked(frame: { ref?: string; [field: string]: unknown }): void {
    if (!frame.ref) return;
    const pending = this.outbox.get(frame.ref);
    if (pending) {
      this.outbox.delete(frame.ref);
      pending.resolve({ messageId: frame.messageId as string, seq: frame.seq as number });
      return;
    }
    const marker = this.markers.get(this.markerRefs.get(frame.ref) ?? '');
    this.markerRefs.delete(frame.ref);
    const reached = (frame.readSeq ?? frame.deliveredSeq) as number | undefined;
    if (marker && reached !== undefined && reached >= marker.upToSeq) marker.acked = true;
  }

  private refused(error: { ref?: string; code: string; message: string; retryAfterSeconds?: number }): void {
    const pending = error.ref ? this.outbox.get(error.ref) : undefined;
    if (pending && RETRIABLE.has(error.code)) {
      const ref = error.ref!;
      const delay = error.retryAfterSeconds ? error.retryAfterSeconds * 1000 : backoffDelay(0, this.options.backoff ?? DEFAULT_BACKOFF);
      setTimeout(() => this.transmitSend(ref), delay);
    } else if (pending) {
      this.outbox.delete(error.ref!);
      pending.reject(new ApiError(0, error.code, error.message));
    } else if (error.ref && this.markerRefs.has(error.ref)) {
      // Refused for good (no longer a member, say): sending it again would be refused again.
      this.markers.get(this.markerRefs.get(error.ref)!)!.acked = true;
      this.markerRefs.delete(error.ref);
    } else {
      this.listeners.emit('error', { code: error.code, message: error.message });
    }
  }

  private transmitSend(clientMsgId: string): void {
    const pending = this.outbox.get(clientMsgId);
    if (pending) this.transmit({ type: 'send', ref: clientMsgId, conversationId: pending.conversationId, clientMsgId, text: pending.text });
  }

  private moveMarker(kind: Marker, conversationId: string, upToSeq: number): void {
    const key = `${kind}:${conversationId}`;
    const current = this.markers.get(key);
    if (current && current.upToSeq >= upToSeq) return;
    this.markers.set(key, { kind, conversationId, upToSeq, acked: false });
    this.transmitMarker(key);
  }

  private transmitMarker(key: string): void {
    const marker = this.markers.get(key);
    if (!marker) return;
    const ref = `m${++this.refs}`;
    this.markerRefs.set(ref, key);
    this.transmit({ type: marker.kind, ref, conversationId: marker.conversationId, upToSeq: marker.upToSeq });
  }

  /** Frames written while offline are not queued here: the outbox and markers are sent again on open. */
  private transmit(frame: Record<string, unknown>): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify({ ref: `r${++this.refs}`, ...frame }));
  }

  private startHeartbeat(socket: WebSocketLike): void {
    const interval = this.options.heartbeatMs ?? 15_000;
    this.heartbeatTimer = setInterval(() => {
      // A peer that vanished without closing (a laptop lid, a dropped network) sends nothing, and
      // its close handshake would wait as long again: replace the socket at once.
      if (Date.now() - this.lastFrameAt <= 2 * interval) return this.ping();
      socket.close(4000);
      this.lost(socket, true);
    }, interval);
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.listeners.emit('status', status);
  }
}
