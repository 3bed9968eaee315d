import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { DomainError, WrongExpectedRevision } from '../domain/errors.js';
import { pushPolicy, repeatUntilAborted, retryPolicies, withRetry, type RetryPolicy } from './retry.js';

/** Lets every promise continuation queued so far run; setImmediate is left real by the mock timers. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Fires pending timers one after another, moving the mocked clock, until `work` settles. */
async function runToEnd<T>(work: Promise<T>): Promise<T> {
  let settled = false;
  const watched = work.finally(() => (settled = true));
  watched.catch(() => {});
  for (await settle(); !settled; await settle()) mock.timers.runAll();
  return watched;
}

/** An attempt that fails with each of `failures` in turn, then succeeds; it notes the clock at each call. */
function attemptFailing(failures: unknown[]) {
  const calledAt: number[] = [];
  const attempt = async () => {
    calledAt.push(Date.now());
    if (failures.length > 0) throw failures.shift();
    return 'done';
  };
  return { attempt, calledAt };
}

const policy = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({
  retries: 3,
  minTimeout: 100,
  factor: 2,
  maxTimeout: 300,
  randomize: false,
  shouldRetry: () => true,
  ...over,
});

describe('retry policies', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => {
    mock.timers.reset();
    mock.restoreAll();
  });

  it('waits minTimeout, then factor times longer per retry, capped at maxTimeout', async () => {
    const { attempt, calledAt } = attemptFailing([new Error('1'), new Error('2'), new Error('3')]);
    assert.equal(await runToEnd(withRetry(policy(), attempt)), 'done');
    assert.deepEqual(calledAt, [0, 100, 300, 600]);
  });

  it('after the last retry, fails with the attempt’s own last error', async () => {
    const last = new Error('still down');
    const { attempt, calledAt } = attemptFailing([new Error('1'), new Error('2'), last]);
    await assert.rejects(runToEnd(withRetry(policy({ retries: 2 }), attempt)), (e) => e === last);
    assert.equal(calledAt.length, 3);
  });

  it('retries only what the policy names, and tells of each retry before it happens', async () => {
    const refused = new Error('refused');
    const { attempt, calledAt } = attemptFailing([new DomainError('unavailable', 'restarting'), refused]);
    const retried: [string, number][] = [];
    const work = withRetry(retryPolicies.eventStoreStartup, attempt, { onRetry: (e, n) => retried.push([(e as Error).message, n]) });
    await assert.rejects(runToEnd(work), (e) => e === refused);
    assert.deepEqual(calledAt, [0, 250]);
    assert.deepEqual(retried, [['restarting', 1]]);
  });

  it('retries a TypeError like any other failure when the policy says so', async () => {
    const { attempt, calledAt } = attemptFailing([new TypeError('not a function')]);
    assert.equal(await runToEnd(withRetry(policy(), attempt)), 'done');
    assert.equal(calledAt.length, 2);
  });

  it('an abort ends the wait before a retry at once, and nothing more is attempted or told', async () => {
    const stop = new AbortController();
    const retried: unknown[] = [];
    let attempts = 0;
    const work = withRetry(
      retryPolicies.resubscribe,
      async () => {
        attempts++;
        throw new Error('down');
      },
      { signal: stop.signal, onRetry: (e) => retried.push(e) },
    );
    work.catch(() => {});
    await settle();
    assert.equal(attempts, 1);
    stop.abort();
    await assert.rejects(work, { name: 'AbortError' });
    mock.timers.runAll();
    await settle();
    assert.equal(attempts, 1);
    assert.equal(retried.length, 1);
  });

  it('repeats steps until aborted, a successful step starting the backoff over', async () => {
    const stop = new AbortController();
    const outcomes = ['fails', 'fails', 'succeeds', 'fails', 'succeeds'];
    const calledAt: number[] = [];
    const step = async () => {
      calledAt.push(Date.now());
      if (outcomes.length === 1) stop.abort();
      if (outcomes.shift() === 'fails') throw new Error('down');
    };
    await runToEnd(repeatUntilAborted(retryPolicies.resubscribe, step, { signal: stop.signal }));
    // Two failures wait 50 then 100 ms; after the success the next failure waits 50 ms again.
    assert.deepEqual(calledAt, [0, 50, 150, 150, 200]);
  });

  it('never gives up on a resubscription, waiting at most maxTimeout between tries', async () => {
    const failures = Array.from({ length: 12 }, (_, i) => new Error(String(i)));
    const { attempt, calledAt } = attemptFailing(failures);
    await runToEnd(withRetry(retryPolicies.resubscribe, attempt));
    const waits = calledAt.slice(1).map((t, i) => t - calledAt[i]!);
    assert.deepEqual(waits, [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000, 5000]);
  });

  it('retries a write conflict eight times with short random delays, and nothing else', async () => {
    const conflict = () => new WrongExpectedRevision('conversation-c1', 3, 4);
    const { attempt, calledAt } = attemptFailing(Array.from({ length: 9 }, conflict));
    await assert.rejects(runToEnd(withRetry(retryPolicies.writeConflict, attempt)), WrongExpectedRevision);
    assert.equal(calledAt.length, 9);
    assert.ok(calledAt.at(-1)! < 250, `all retries within 250 ms, took ${calledAt.at(-1)}`);
    assert.equal(retryPolicies.writeConflict.shouldRetry(new DomainError('unavailable', 'down')), false);
  });

  it('pushes PUSH_MAX_ATTEMPTS times, the first retry after half to all of PUSH_RETRY_BASE_MS, doubling', async () => {
    for (const [random, waits] of [
      [0, [500, 1000, 2000, 4000]],
      [0.999999, [1000, 2000, 4000, 8000]],
    ] as const) {
      mock.method(Math, 'random', () => random);
      const { attempt, calledAt } = attemptFailing(Array.from({ length: 5 }, () => new Error('unavailable')));
      const start = Date.now();
      await assert.rejects(runToEnd(withRetry(pushPolicy(5, 1000), attempt)));
      assert.deepEqual(calledAt.map((t) => t - start).slice(1), waits.reduce<number[]>((at, w) => [...at, (at.at(-1) ?? 0) + w], []));
    }
  });
});
