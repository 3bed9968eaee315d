import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Principal } from '../api/auth.js';
import type { FloodGuard } from './flood.js';
import type { WireFrame } from './frames.js';

/** Above this many unsent bytes a client is too slow to follow; it is dropped and resyncs. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

interface Pending {
  conversationId: string;
  seq: number;
  frame: WireFrame;
}

/**
 * One connected device: all connection state lives here. While a sync replay runs, live events
 * are held back and released after it. Whatever the source (live, replay, held), an event goes out
 * only above the last seq this socket carried for its conversation: every event once, seqs
 * ascending. An older one passed over (live events that came before the client's sync) leaves a
 * gap the client sees and fills with GET .../events, instead of a duplicate or a step back.
 */
export class Session {
  /** When the device last showed a sign of life (a pong or any frame), in ms since the epoch. */
  lastAliveAt = Date.now();
  private held: Pending[] | null = null;
  private readonly lastSeqs = new Map<string, number>();
  private corked = false;

  constructor(
    readonly socket: WebSocket,
    /** The connection under the WebSocket, whose writes `send` gathers. */
    private readonly wire: Duplex,
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

  send(frame: WireFrame): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.socket.close(1013, 'too slow: reconnect and sync');
      return;
    }
    this.gatherThisTurn();
    // A Buffer goes out as a text frame too: every frame of the protocol is JSON text.
    this.socket.send(frame, { binary: false });
  }

  /**
   * Frames sent in one turn of the event loop (the acks of one group commit, the events of one feed
   * batch) leave in one write instead of one system call each: the connection is corked at the
   * first frame and uncorked on the next tick, once the code sending them (a loop over a batch, or
   * the promise continuations of one commit) has run. No frame waits for more than its own turn.
   */
  private gatherThisTurn(): void {
    if (this.corked) return;
    this.corked = true;
    this.wire.cork();
    process.nextTick(() => {
      this.corked = false;
      this.wire.uncork();
    });
  }

  sendJson(frame: unknown): void {
    this.send(JSON.stringify(frame));
  }

  /** A live conversation event. */
  deliver(conversationId: string, seq: number, frame: WireFrame): void {
    if (this.held) this.held.push({ conversationId, seq, frame });
    else this.sendEvent(conversationId, seq, frame);
  }

  /** Whether the event went out (it is passed over at or below this conversation's last seq here). */
  private sendEvent(conversationId: string, seq: number, frame: WireFrame): boolean {
    if ((this.lastSeqs.get(conversationId) ?? -1) >= seq) return false;
    this.lastSeqs.set(conversationId, seq);
    this.send(frame);
    return true;
  }

  get syncing(): boolean {
    return this.held !== null;
  }

  beginReplay(): void {
    this.held = [];
  }

  replay(conversationId: string, seq: number, frame: WireFrame): boolean {
    return this.sendEvent(conversationId, seq, frame);
  }

  /** Releases the live events held during the replay, passing over those the replay sent. */
  endReplay(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const p of held) this.sendEvent(p.conversationId, p.seq, p.frame);
  }
}
