import { repeatUntilAborted, retryPolicies } from '../shared/retry.js';
import type { RecordedEvent, Subscription } from './port.js';

export interface LoopOptions {
  after: number;
  read(after: number): Promise<RecordedEvent[]>;
  /** Resolves when new events may be there (a commit), or at once when `closing` aborts. */
  waitForMore(closing: AbortSignal): Promise<void>;
  handler(batch: RecordedEvent[]): Promise<void> | void;
  onError?: (error: unknown) => void;
}

/**
 * Catch-up then live, by polling from the last handled position: the same code serves both
 * phases, so there is no hand-over in which an event could be skipped. A failing handler or read
 * is retried with backoff from the same position; the loop never gives up on its own.
 */
export function subscriptionLoop(options: LoopOptions): Subscription {
  let position = options.after;
  const closing = new AbortController();
  // One batch per step: a batch handled starts the backoff of the next failure over.
  const step = async () => {
    const batch = await options.read(position);
    if (closing.signal.aborted) return;
    if (batch.length === 0) return options.waitForMore(closing.signal);
    await options.handler(batch);
    position = batch[batch.length - 1]!.position;
  };
  const done = repeatUntilAborted(retryPolicies.resubscribe, step, { signal: closing.signal, onRetry: options.onError });
  return {
    async close() {
      closing.abort();
      await done;
    },
  };
}
