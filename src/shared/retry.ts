import pRetry from 'p-retry';
import { isUnavailable, WrongExpectedRevision } from '../domain/errors.js';

/**
 * How an operation is retried, in `p-retry`'s terms: the n-th retry waits `minTimeout × factor^(n-1)`,
 * at most `maxTimeout`, and with `randomize` that times a random factor from 1 to 2, so that processes
 * failing together do not retry together.
 */
export interface RetryPolicy {
  /** Retries after the first attempt; `Infinity` for work that stops only when its signal aborts. */
  retries: number;
  minTimeout: number;
  factor: number;
  maxTimeout: number;
  randomize: boolean;
  /** Names the failures worth another attempt; any other ends the retrying at once. */
  shouldRetry: (error: unknown) => boolean;
}

const anyFailure = () => true;
const isWriteConflict = (error: unknown) => error instanceof WrongExpectedRevision;

export const retryPolicies = {
  /**
   * A subscription or polling feed whose read or handler failed: it starts again from its last handled
   * position, quickly at first, and never gives up; a handled batch starts the backoff over.
   */
  resubscribe: { retries: Infinity, minTimeout: 50, factor: 2, maxTimeout: 5000, randomize: false, shouldRetry: anyFailure },
  /**
   * An EventStoreDB append that failed without a known outcome, re-sent with the same event ids and
   * expectation (which the server recognises). Only `unavailable` is retried: a conflict or a refusal
   * is an answer. `retries` and `minTimeout` are the defaults of the adapter's settings.
   */
  appendOutcomeUnknown: { retries: 2, minTimeout: 200, factor: 2, maxTimeout: Infinity, randomize: false, shouldRetry: isUnavailable },
  /** Start-up waits for a remote event store that is still starting, for as long as it takes. */
  eventStoreStartup: { retries: Infinity, minTimeout: 250, factor: 2, maxTimeout: 10_000, randomize: false, shouldRetry: isUnavailable },
  /** Kafka being down at start-up delays the publisher and the analytics consumer, for as long as it takes. */
  kafkaStartup: { retries: Infinity, minTimeout: 500, factor: 2, maxTimeout: 30_000, randomize: false, shouldRetry: anyFailure },
  /**
   * Another process appended to the stream first: reload and decide again. Delays are short (a few ms,
   * about 90 ms over all retries) and random, so that writers that collided spread out.
   */
  writeConflict: { retries: 8, minTimeout: 2.5, factor: 1.3, maxTimeout: Infinity, randomize: true, shouldRetry: isWriteConflict },
  /**
   * A push whose tokens failed transiently (the worker's classification decides which). `pushPolicy`
   * sets the attempts and the first delay from configuration.
   */
  push: { retries: 4, minTimeout: 500, factor: 2, maxTimeout: Infinity, randomize: true, shouldRetry: anyFailure },
} satisfies Record<string, RetryPolicy>;

/**
 * The push policy for `PUSH_MAX_ATTEMPTS` and `PUSH_RETRY_BASE_MS`: the first retry waits half to all
 * of the base (randomize's factor of 1 to 2 times half of it), doubling per further retry.
 */
export const pushPolicy = (maxAttempts: number, retryBaseMs: number): RetryPolicy => ({
  ...retryPolicies.push,
  retries: maxAttempts - 1,
  minTimeout: retryBaseMs / 2,
});

export interface RetryOptions {
  /** Aborting ends the wait before a retry at once; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Told of each failed attempt that is about to be retried (not of the last, nor of one after an abort). */
  onRetry?: (error: unknown, attemptNumber: number) => void;
}

/** Carries an attempt's failure through p-retry, which would otherwise refuse to retry a TypeError. */
class AttemptFailed extends Error {
  constructor(readonly failure: unknown) {
    super('attempt failed');
  }
}

/**
 * Runs `attempt` until it succeeds, the policy names its failure as final, the retries run out, or the
 * signal aborts. The caller gets the attempt's own last error, whatever it is: only the policy decides
 * what is retried.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  attempt: (attemptNumber: number) => Promise<T>,
  { signal, onRetry }: RetryOptions = {},
): Promise<T> {
  try {
    return await pRetry(
      async (attemptNumber) => {
        try {
          return await attempt(attemptNumber);
        } catch (failure) {
          throw new AttemptFailed(failure);
        }
      },
      {
        ...policy,
        signal,
        // p-retry asks only while retries are left, so a yes here is a retry about to happen.
        shouldRetry: ({ error, attemptNumber }) => {
          const { failure } = error as AttemptFailed;
          if (!policy.shouldRetry(failure)) return false;
          if (!signal?.aborted) onRetry?.(failure, attemptNumber);
          return true;
        },
      },
    );
  } catch (error) {
    throw error instanceof AttemptFailed ? error.failure : error;
  }
}

/**
 * Runs `step` over and over until `signal` aborts, each run retried under `policy`: a step that succeeds
 * starts the next one's backoff over. Resolves once aborted; rejects only with a failure the policy
 * does not retry.
 */
export async function repeatUntilAborted(
  policy: RetryPolicy,
  step: () => Promise<void>,
  { signal, onRetry }: RetryOptions & { signal: AbortSignal },
): Promise<void> {
  while (!signal.aborted) {
    try {
      await withRetry(policy, step, { signal, onRetry });
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }
}
