import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeLags, judgeRedis } from './readiness.js';

const lag = (name: string, kind: 'projection' | 'consumer', lagSeconds: number, lagEvents = lagSeconds ? 3 : 0, lagEventsCapped = false) => ({
  name,
  kind,
  position: 1,
  lagEvents,
  lagEventsCapped,
  lagSeconds,
});

describe('judgeLags', () => {
  it('is ready while every projection is within the bound, whatever other consumers do', () => {
    assert.deepEqual(judgeLags([lag('inbox', 'projection', 5), lag('push', 'consumer', 600)], 5), { ready: true });
  });
  it('names the projections past the bound', () => {
    assert.deepEqual(judgeLags([lag('inbox', 'projection', 7.25), lag('users', 'projection', 0)], 5), {
      ready: false,
      reason: 'projections lag more than 5 s behind the head: inbox (7.3 s, 3 events)',
    });
  });
  it('says "at least" of a count that stopped at its limit', () => {
    assert.deepEqual(judgeLags([lag('inbox', 'projection', 9, 1000, true)], 5), {
      ready: false,
      reason: 'projections lag more than 5 s behind the head: inbox (9.0 s, 1000+ events)',
    });
  });
});

describe('judgeRedis', () => {
  it('names nothing while the Redis connection is ready, and otherwise says what degrades', () => {
    assert.equal(judgeRedis('ready'), null);
    assert.equal(
      judgeRedis('reconnecting'),
      'Redis unreachable (reconnecting): rate limits, presence and typing are per instance and token revocations are not checked',
    );
  });
});
