import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeLags } from './readiness.js';

const lag = (name: string, kind: 'projection' | 'consumer', lagSeconds: number) => ({ name, kind, position: 1, lagEvents: lagSeconds ? 3 : 0, lagSeconds });

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
});
