import type { Readable } from 'node:stream';
import { unavailable } from './esdbErrors.js';

/**
 * Settles like `promise`, or fails with `unavailable` after `timeoutMs`, running `onTimeout` to release
 * what the operation holds. The client gives reads and subscriptions no deadline at all: it passes
 * `deadline: Infinity` as a call option, which wins over the caller's `deadline` (callArguments in
 * Client/index.js), so a stalled server would hold a read forever.
 */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string, onTimeout: () => void = () => {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(unavailable(`event store did not answer ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Everything a streaming read returns, within `timeoutMs`; on timeout the gRPC call is cancelled. */
export function readWithin<T>(
  read: Readable & AsyncIterable<T> & { cancel(): Promise<void> },
  timeoutMs: number,
  what: string,
): Promise<T[]> {
  const collect = async () => {
    const items: T[] = [];
    for await (const item of read) items.push(item);
    return items;
  };
  return within(collect(), timeoutMs, what, () => {
    read.cancel().catch(() => undefined);
    read.destroy();
  });
}
