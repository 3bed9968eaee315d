import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { RENEWAL_MIN_INTERVAL_MS, TypingTracker, forwardTyping } from './typing.js';

const options = { ttlMs: 6000, throttleMs: 3000 };

describe('typing: forwarding rule', () => {
  it('forwards a start at once, and renewals in small conversations at most once a second', () => {
    assert.equal(forwardTyping(undefined, 0, false, options), true);
    const shown = { announced: true, lastForwardedAt: 1000 };
    assert.equal(forwardTyping(shown, 1000 + RENEWAL_MIN_INTERVAL_MS - 1, false, options), false);
    assert.equal(forwardTyping(shown, 1000 + RENEWAL_MIN_INTERVAL_MS, false, options), true);
    assert.equal(forwardTyping({ announced: false, lastForwardedAt: 1000 }, 1001, false, options), true, 'a restart after a stop');
  });

  it('throttles every forward per sender in large groups, restarts included', () => {
    assert.equal(forwardTyping(undefined, 0, true, options), true);
    assert.equal(forwardTyping({ announced: false, lastForwardedAt: 1000 }, 3999, true, options), false);
    assert.equal(forwardTyping({ announced: true, lastForwardedAt: 1000 }, 4000, true, options), true);
  });
});

describe('typing: tracker', () => {
  let signals: [string, string, boolean][];
  let tracker: TypingTracker;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    signals = [];
    tracker = new TypingTracker(options, (c, u, typing) => signals.push([c, u, typing]));
  });
  afterEach(() => {
    tracker.close();
    mock.timers.reset();
  });

  it('expires an indicator that is not renewed', () => {
    tracker.started('c', 'a', false);
    mock.timers.tick(5999);
    assert.deepEqual(signals, [['c', 'a', true]]);
    mock.timers.tick(1);
    assert.deepEqual(signals, [['c', 'a', true], ['c', 'a', false]]);
  });

  it('keeps a renewed indicator alive and forwards renewals sparingly', () => {
    tracker.started('c', 'a', false);
    for (let i = 0; i < 10; i++) {
      mock.timers.tick(500);
      tracker.started('c', 'a', false);
    }
    // 5 s of renewals every 0.5 s: the start plus one forward per second.
    assert.equal(signals.filter(([, , t]) => t).length, 6);
    mock.timers.tick(5999);
    assert.equal(signals.filter(([, , t]) => !t).length, 0);
    mock.timers.tick(1);
    assert.deepEqual(signals.at(-1), ['c', 'a', false]);
  });

  it('an explicit stop is forwarded once; a message ends the indicator silently', () => {
    tracker.started('c', 'a', false);
    tracker.stopped('c', 'a');
    tracker.stopped('c', 'a');
    assert.deepEqual(signals, [['c', 'a', true], ['c', 'a', false]]);
    tracker.started('c', 'b', false);
    tracker.sent('c', 'b');
    mock.timers.tick(10_000);
    assert.deepEqual(signals.slice(2), [['c', 'b', true]]);
  });

  it('keeps conversations and senders apart', () => {
    tracker.started('c1', 'a', false);
    tracker.started('c2', 'a', false);
    tracker.started('c1', 'b', false);
    tracker.stopped('c1', 'a');
    assert.deepEqual(signals, [['c1', 'a', true], ['c2', 'a', true], ['c1', 'b', true], ['c1', 'a', false]]);
  });

  it('a throttled sender stays throttled across stop and start', () => {
    tracker.started('g', 'a', true);
    tracker.stopped('g', 'a');
    tracker.started('g', 'a', true);
    mock.timers.tick(1000);
    tracker.started('g', 'a', true);
    assert.deepEqual(signals, [['g', 'a', true], ['g', 'a', false]]);
    mock.timers.tick(2000);
    tracker.started('g', 'a', true);
    assert.deepEqual(signals.at(-1), ['g', 'a', true]);
  });
});
