import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const options = { initialMs: 100, maxMs: 1000 };

  it('doubles from the first delay up to the cap', () => {
    const highest = (attempt: number) => backoffDelay(attempt, options, () => 1);
    assert.deepEqual([0, 1, 2, 3, 4, 50].map(highest), [100, 200, 400, 800, 1000, 1000]);
  });

  it('spreads clients over the upper half of each delay', () => {
    assert.equal(backoffDelay(2, options, () => 0), 200);
    assert.equal(backoffDelay(2, options, () => 0.5), 300);
  });
});
