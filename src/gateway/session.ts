import type { WebSocket } from 'ws';
import type { Principal } from '../api/auth.js';
import type { FloodGuard } from './flood.js';

/** Above this many unsent bytes a client is too slow to follow; it is dropped and resyncs. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

interface Pending {
  key: string;
  frame: string;
}

/**
 * One connected device: all connection state lives here. While a sync replay runs, live events
 * are held back and released after it, minus those the replay already sent.
 */
export class Session {
  /** When the device last showed a sign of life (a pong or any frame), in ms since the epoch. */
  lastAliveAt = Date.now();
  private held: Pending[] | null = null;
  private replayed: Set<string> | null = null;

  constructor(
    readonly socket: WebSocket,
    readonly principal: Principal,
    readonly remoteAddress: string,
    /** This socket's frame budget. */
    readonly flood: FloodGuard,
  ) {}

  get userId(): string {
    return this.principal.userId;
  }

  markAlive(): void {
    this.lastAliveAt = Date.now();
  }

  send(frame: string): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.socket.close(1013, 'too slow: reconnect and sync');
      return;
    }
    this.socket.send(frame);
  }

  sendJson(frame: unknown): void {
    this.send(JSON.stringify(frame));
  }

  /** A live conversation event. */
  deliver(conversationId: string, seq: number, frame: string): void {
    if (this.held) {
      this.held.push({ key: `${conversationId}:${seq}`, frame });
      return;
    }
    this.send(frame);
  }

  get syncing(): boolean {
    return this.held !== null;
  }

  beginReplay(): void {
    this.held = [];
    this.replayed = new Set();
  }

  replay(conversationId: string, seq: number, frame: string): void {
    this.replayed!.add(`${conversationId}:${seq}`);
    this.send(frame);
  }

  /** Releases the live events held during the replay, skipping any the replay sent. */
  endReplay(): void {
    const held = this.held ?? [];
    const replayed = this.replayed ?? new Set();
    this.held = null;
    this.replayed = null;
    for (const p of held) if (!replayed.has(p.key)) this.send(p.frame);
  }
}
