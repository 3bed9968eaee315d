import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { WebSocket } from 'ws';

export interface FloodOptions {
  /** Frames per second a socket may send on average. */
  rate: number;
  /** Frames a socket may send at once above the average. */
  burst: number;
  /** Refused frames within 10 s after which the socket is closed (1008). */
  closeAfter: number;
}

export type FloodVerdict = 'ok' | 'refuse' | 'close';

const KEY = 'frames';
/** How long a refused socket is not read from: TCP backpressure slows the sender at no CPU cost. */
const PAUSE_MS = 100;
/** A closed flooder gets this long to complete the close handshake, unread, before it is cut off. */
const CLOSE_GRACE_MS = 1000;

/**
 * One socket's frame budget: a steady rate plus a burst allowance. A frame over budget is refused;
 * a client that keeps sending after being refused is disconnected.
 */
export class FloodGuard {
  private readonly frames: BurstyRateLimiter;
  private readonly refusals: RateLimiterMemory;

  constructor(o: FloodOptions) {
    this.frames = new BurstyRateLimiter(
      new RateLimiterMemory({ points: o.rate, duration: 1 }),
      new RateLimiterMemory({ keyPrefix: 'burst', points: o.burst, duration: 10 }),
    );
    this.refusals = new RateLimiterMemory({ points: o.closeAfter, duration: 10 });
  }

  async admit(): Promise<FloodVerdict> {
    try {
      await this.frames.consume(KEY);
      return 'ok';
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
    }
    try {
      await this.refusals.consume(KEY);
      return 'refuse';
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      return 'close';
    }
  }
}

/**
 * Stops reading from a socket over budget. Refused: for a moment, so the frames it keeps sending
 * wait in its own TCP buffers instead of costing the server parsing. Closed: for good, with 1008.
 */
export function holdBack(socket: WebSocket, verdict: Exclude<FloodVerdict, 'ok'>): void {
  socket.pause();
  if (verdict === 'close') {
    socket.close(1008, 'flooding: too many frames');
    setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  } else {
    setTimeout(() => socket.resume(), PAUSE_MS).unref();
  }
}
