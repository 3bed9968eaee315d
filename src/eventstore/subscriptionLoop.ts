import type { RecordedEvent, Subscription } from './port.js';

export interface LoopOptions {
  after: number;
  read(after: number): Promise<RecordedEvent[]>;
  /** Resolves when new events may be there (a commit, or a poll interval). */
  waitForMore(): Promise<void>;
  handler(batch: RecordedEvent[]): Promise<void> | void;
  onError?: (error: unknown) => void;
}

const MAX_BACKOFF_MS = 5000;

/**
 * Catch-up then live, by polling from the last handled position: the same code serves both
 * phases, so there is no hand-over in which an event could be skipped. A failing handler or read
 * is retried with backoff from the same position; the loop never gives up on its own.
 */
export function subscriptionLoop(options: LoopOptions): Subscription {
  let position = options.after;
  let closed = false;
  const done = (async () => {
    let backoff = 50;
    while (!closed) {
      try {
        const batch = await options.read(position);
        if (closed) break;
        if (batch.length === 0) {
          await options.waitForMore();
          continue;
        }
        await options.handler(batch);
        position = batch[batch.length - 1]!.position;
        backoff = 50;
      } catch (error) {
        options.onError?.(error);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  })();
  return {
    async close() {
      closed = true;
      await done;
    },
  };
}
