import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import type { RecordedEvent } from './port.js';
import { subscriptionLoop } from './subscriptionLoop.js';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const eventAt = (position: number) => ({ position }) as RecordedEvent;

describe('subscription loop', () => {
  it('retries a failed batch from the same position after a backoff, and close ends that wait at once', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const readsAfter: number[] = [];
      const errors: unknown[] = [];
      let failHandler = true;
      const loop = subscriptionLoop({
        after: 0,
        read: async (after) => {
          readsAfter.push(after);
          return after === 0 ? [eventAt(1)] : [];
        },
        waitForMore: () => new Promise(() => {}),
        handler: () => {
          if (failHandler) throw new Error('projection write failed');
        },
        onError: (error) => errors.push(error),
      });
      await settle();
      assert.deepEqual(errors.map((e) => (e as Error).message), ['projection write failed']);
      mock.timers.tick(49);
      await settle();
      assert.deepEqual(readsAfter, [0], 'still waiting out the backoff');
      mock.timers.tick(1);
      await settle();
      assert.deepEqual(readsAfter, [0, 0], 'read again from the same position');

      // The second try fails too; its backoff is pending when the loop is closed.
      assert.equal(errors.length, 2);
      failHandler = false;
      let closed = false;
      const closing = loop.close().then(() => (closed = true));
      await settle();
      assert.equal(closed, true, 'close waited for the backoff timer');
      await closing;
      assert.deepEqual(readsAfter, [0, 0]);
    } finally {
      mock.timers.reset();
    }
  });
});
