import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { PresenceTracker, type PresenceView } from './presence.js';

/** An in-memory stand-in for the read store's last-seen table. */
class LastSeenStore {
  readonly rows = new Map<string, string>();
  async saveLastSeen(times: Record<string, string>) {
    for (const [u, at] of Object.entries(times)) if ((this.rows.get(u) ?? '') < at) this.rows.set(u, at);
  }
  async getLastSeen(userIds: string[]) {
    return Object.fromEntries(userIds.filter((u) => this.rows.has(u)).map((u) => [u, this.rows.get(u)!]));
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('presence tracker', () => {
  let store: LastSeenStore;
  let tracker: PresenceTracker;
  let announced: [string, PresenceView][];
  const make = (notifyIntervalMs: number) => {
    tracker = new PresenceTracker({ notifyIntervalMs, store, onError: (e) => assert.fail(String(e)) });
    tracker.onAnnounce((u, v) => announced.push([u, v]));
  };
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    store = new LastSeenStore();
    announced = [];
  });
  afterEach(async () => {
    await tracker.close();
    mock.timers.reset();
  });

  it('is online while any device is connected', async () => {
    make(0);
    tracker.connected('a');
    tracker.connected('a');
    tracker.disconnected('a');
    assert.equal(tracker.hasSocketHere('a'), true);
    tracker.disconnected('a');
    assert.equal(tracker.hasSocketHere('a'), false);
    await settle();
    assert.deepEqual(
      announced.map(([u, v]) => [u, v.online]),
      [
        ['a', true],
        ['a', false],
      ],
      'only the first connect and the last disconnect are changes',
    );
  });

  it('announces a change at once, then at most once per interval, and only real changes', async () => {
    make(10_000);
    tracker.connected('a');
    await settle();
    assert.equal(announced.length, 1);
    for (let i = 0; i < 20; i++) {
      tracker.disconnected('a');
      tracker.connected('a');
    }
    tracker.disconnected('a');
    await settle();
    assert.equal(announced.length, 1, 'flapping inside the window is not announced');
    mock.timers.tick(10_000);
    await settle();
    assert.deepEqual(
      announced.map(([, v]) => v.online),
      [true, false],
      'the window ends with the state that differs',
    );
    tracker.connected('a');
    tracker.disconnected('a');
    mock.timers.tick(10_000);
    await settle();
    assert.equal(announced.length, 2, 'back where it was announced: nothing to say');
    tracker.connected('a');
    await settle();
    assert.deepEqual(announced.at(-1)![1].online, true, 'a closed window lets the next change out at once');
  });

  it('a connection flapping over several windows costs its watchers one frame per window at most, the last one final', async () => {
    make(1000);
    // A connect every 100 ms, each followed by a disconnect 50 ms later, for 2.5 s.
    for (let i = 0; i < 25; i++) {
      tracker.connected('a');
      mock.timers.tick(50);
      tracker.disconnected('a');
      mock.timers.tick(50);
      await settle();
    }
    mock.timers.tick(1000);
    await settle();
    // Frames at 0 (the first connect), 1000 (the state as its window closes), 2000 (a connect just
    // after the second window closed with nothing to say) and 3000 (the final state).
    assert.deepEqual(
      announced.map(([, v]) => v.online),
      [true, false, true, false],
      '50 changes cost one frame per window',
    );
  });

  it('moves last-seen forward only, and carries it in announcements', async () => {
    make(0);
    tracker.touch('a', '2030-01-01T10:00:00.000Z');
    tracker.touch('a', '2030-01-01T09:00:00.000Z');
    assert.equal((await tracker.view('a')).lastSeenAt, '2030-01-01T10:00:00.000Z');
    tracker.connected('a');
    await settle();
    assert.deepEqual(announced[0], ['a', { online: true, lastSeenAt: '2030-01-01T10:00:00.000Z' }]);
  });

  it('saves last-seen to the store and reads it back in a new tracker', async () => {
    make(0);
    tracker.touch('a', '2030-01-01T10:00:00.000Z');
    mock.timers.tick(5000);
    await settle();
    assert.equal(store.rows.get('a'), '2030-01-01T10:00:00.000Z', 'flushed periodically');
    tracker.touch('b', '2030-01-01T11:00:00.000Z');
    await tracker.close();
    assert.equal(store.rows.get('b'), '2030-01-01T11:00:00.000Z', 'flushed on close');
    make(0);
    assert.deepEqual(await tracker.view('b'), { online: false, lastSeenAt: '2030-01-01T11:00:00.000Z' });
    assert.deepEqual(await tracker.view('nobody'), { online: false, lastSeenAt: null });
  });

  it('announces nothing once closed', async () => {
    make(0);
    tracker.connected('a');
    await tracker.close();
    tracker.disconnected('a');
    await settle();
    assert.equal(announced.length, 1);
  });
});
