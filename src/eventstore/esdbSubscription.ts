import { START, streamNameFilter, type AllStreamResolvedEvent, type EventStoreDBClient } from '@eventstore/db-client';
import { PRODUCT_STREAM_PREFIXES } from '../domain/streams.js';
import { repeatUntilAborted, retryPolicies } from '../shared/retry.js';
import { toEsdbPosition } from './esdbPosition.js';
import type { RecordedEvent, SubscribeOptions, Subscription } from './port.js';

type Handler = (batch: RecordedEvent[]) => Promise<void> | void;

const MAX_BATCH = 1000;

/**
 * A catch-up subscription to `$all`, filtered by the server to the product's stream prefixes, that
 * delivers batches in order and waits for each handler before the next.
 *
 * Whatever goes wrong (the handler throws, the connection drops, the server ends the call) the attempt
 * is torn down, reported through `onError`, and a new one subscribes, after a backoff, from the last
 * position the handler completed. Events that had arrived behind a failed batch are simply read again,
 * so each is handled once, in order, and the subscription never stops on its own.
 */
export function subscribeToProductStreams(
  client: EventStoreDBClient,
  convert: (resolved: AllStreamResolvedEvent) => RecordedEvent | null,
  options: SubscribeOptions,
  handler: Handler,
): Subscription {
  let position = options.after;
  const closing = new AbortController();
  let attempt: Attempt | null = null;
  /** The current attempt's failure, kept until a step reports it: it may end between two steps. */
  let failure: { error: unknown } | null = null;
  let wakeStep = () => {};

  const handle = async (batch: RecordedEvent[]) => {
    await handler(batch);
    position = batch[batch.length - 1]!.position;
    wakeStep();
  };

  const subscribe = (): Attempt => {
    const started = follow(client, position, convert, handle);
    started.ended.catch((error: unknown) => (failure = { error })).finally(() => wakeStep());
    return started;
  };

  // A step lasts until a batch is handled or the attempt ends, so that a batch handled starts the
  // backoff of the next failure over while the attempt itself carries on into the next step.
  const step = async () => {
    attempt ??= subscribe();
    if (!failure) await new Promise<void>((resolve) => (wakeStep = resolve));
    if (!failure) return;
    const { error } = failure;
    failure = null;
    attempt = null;
    throw error;
  };

  const done = repeatUntilAborted(retryPolicies.resubscribe, step, { signal: closing.signal, onRetry: options.onError });

  return {
    async close() {
      closing.abort();
      attempt?.stop();
      await done;
    },
  };
}

interface Attempt {
  /** Settles once the attempt is over and no handler is running: resolves if stopped, rejects on failure. */
  ended: Promise<void>;
  stop(): void;
}

function follow(
  client: EventStoreDBClient,
  after: number,
  convert: (resolved: AllStreamResolvedEvent) => RecordedEvent | null,
  handle: (batch: RecordedEvent[]) => Promise<void>,
): Attempt {
  // The subscription starts after `fromPosition` (exclusive), which is exactly the port's `after`.
  const subscription = client.subscribeToAll({
    fromPosition: after === 0 ? START : toEsdbPosition(after),
    filter: streamNameFilter({ prefixes: [...PRODUCT_STREAM_PREFIXES] }),
  });
  let pending: RecordedEvent[] = [];
  let draining = false;
  let outcome: { error?: unknown } | null = null;
  let unsubscribed: Promise<unknown> = Promise.resolve();
  let settle: (outcome: { error?: unknown }) => void = () => {};
  const ended = new Promise<void>((resolve, reject) => {
    settle = ({ error }) => void unsubscribed.then(() => (error === undefined ? resolve() : reject(error)));
  });

  const finish = (error?: unknown) => {
    if (outcome) return;
    outcome = { error };
    unsubscribed = subscription.unsubscribe().catch(() => undefined);
    if (!draining) settle(outcome);
  };

  // Events are gathered while the stream flows and handed over together; the stream is paused while
  // the handler runs, so gRPC flow control holds the rest back on the server instead of in memory.
  const drain = async () => {
    subscription.pause();
    try {
      while (pending.length > 0 && !outcome) {
        const batch = pending.slice(0, MAX_BATCH);
        pending = pending.slice(batch.length);
        await handle(batch);
      }
    } catch (error) {
      finish(error);
    }
    draining = false;
    if (outcome) settle(outcome);
    else subscription.resume();
  };

  subscription.on('data', (resolved: AllStreamResolvedEvent) => {
    if (outcome) return;
    try {
      const event = convert(resolved);
      if (event) pending.push(event);
    } catch (error) {
      finish(error);
      return;
    }
    if (!draining && pending.length > 0) {
      draining = true;
      setImmediate(() => void drain());
    }
  });
  subscription.on('error', (error: Error) => finish(error));
  subscription.on('end', () => finish(new Error('EventStoreDB ended the $all subscription')));

  return { ended, stop: () => finish() };
}
