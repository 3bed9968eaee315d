import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presenceFrame } from '../../src/gateway/frames.js';
import { ApiClient, type WsClient } from '../support/client.js';
import { startTestServer } from '../support/server.js';
import { suiteServer } from '../support/suite.js';
import { tempDir } from '../support/tmp.js';
import { eventually } from '../support/waits.js';

/**
 * How long the window and the timeout last is proven with mock timers in src/gateway/presence.spec.ts;
 * here each test waits for what it expects, and proves an absence with a fence. The timeout is many
 * heartbeats long, so a socket that answers pings is never dropped for a late timer.
 */
describe('presence', () => {
  const t = suiteServer({
    HEARTBEAT_INTERVAL_MS: '100',
    PRESENCE_TIMEOUT_MS: '2000',
    PRESENCE_NOTIFY_INTERVAL_MS: '300',
    INBOX_PULL_THRESHOLD: '3',
  });
  const presenceOf = (ws: WsClient, userId: string) => ws.frames.filter((f) => f.type === 'presence' && f.userId === userId);
  const getPresence = (asker: { token: string }, userId: string) => t.api.request('GET', `/v1/users/${userId}/presence`, { token: asker.token });
  /** Closes a socket and waits until the server has let go of it too. */
  const disconnect = async (ws: WsClient) => {
    const before = t.server.gateway.connectionCount;
    await ws.close();
    await eventually('the server to see the socket close', async () => t.server.gateway.connectionCount, (n) => n < before);
  };

  it('tells online contacts when a user comes online and when they close the app; strangers hear nothing', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const stranger = await t.api.user('s');
    await t.api.direct(a, b);
    const bWs = await t.connect(b.token);
    const sWs = await t.connect(stranger.token);
    const aWs = await t.connect(a.token);
    const online = await bWs.next((f) => f.type === 'presence' && f.userId === a.userId);
    assert.deepEqual(online, { type: 'presence', userId: a.userId, online: true, lastSeenAt: null });
    assert.equal((await getPresence(b, a.userId)).body.online, true);

    await aWs.close();
    const offline = await bWs.next((f) => f.type === 'presence' && f.userId === a.userId && !f.online);
    assert.equal(offline.online, false);
    presenceFrame.parse(online);
    presenceFrame.parse(offline);
    assert.equal((await getPresence(b, a.userId)).body.online, false);
    // Each announcement goes to all contacts at once: one to the stranger would precede the pong.
    await sWs.fence();
    assert.equal(presenceOf(sWs, a.userId).length, 0);
  });

  it('drops a socket that stops answering, and the user goes offline', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    await t.api.direct(a, b);
    const bWs = await t.connect(b.token);
    const silent = await t.connect(a.token, { autoPong: false });
    await bWs.next((f) => f.type === 'presence' && f.userId === a.userId && f.online);
    await silent.until(() => silent.closeCode !== null, 'the silent socket to be dropped');
    assert.equal(silent.closeCode, 1006);
    const offline = await bWs.next((f) => f.type === 'presence' && f.userId === a.userId && !f.online);
    assert.equal(offline.online, false);
    assert.equal((await getPresence(b, a.userId)).body.online, false);
  });

  it('stays online while another device is connected', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    await t.api.direct(a, b);
    const bWs = await t.connect(b.token);
    const phone = await t.connect(a.token);
    const laptop = await t.connect(a.token);
    await bWs.next((f) => f.type === 'presence' && f.userId === a.userId);
    await disconnect(phone);
    assert.equal((await getPresence(b, a.userId)).body.online, true);
    await laptop.close();
    await bWs.next((f) => f.type === 'presence' && f.userId === a.userId && !f.online);
    assert.deepEqual(presenceOf(bWs, a.userId).map((f) => f.online), [true, false], 'the phone leaving was no news');
  });

  // How many frames flapping costs per window is proven with mock timers in presence.spec.ts.
  it('contacts of a flapping connection end with the right state', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    await t.api.direct(a, b);
    const bWs = await t.connect(b.token);
    for (let i = 0; i < 6; i++) await disconnect(await t.connect(a.token));
    assert.equal((await getPresence(b, a.userId)).body.online, false);
    const seen = await bWs.until((frames) => {
      const online = frames.filter((f) => f.type === 'presence' && f.userId === a.userId).map((f) => f.online);
      return online.at(-1) === false && online;
    }, 'the last word about a to be offline');
    assert.equal(seen[0], true);
    assert.ok(seen.length <= 12, 'never more than one frame per change');
  });

  it('fans presence out over direct conversations and small groups, not over large ones', async () => {
    const a = await t.api.user('a');
    const friend = await t.api.user('friend');
    const small = await t.api.user('small');
    const [x, y, z] = [await t.api.user('x'), await t.api.user('y'), await t.api.user('z')];
    await t.api.direct(a, friend);
    await t.api.group(a, [small], 'two of us');
    await t.api.group(a, [x, y, z], 'four is above the threshold of 3');
    const watchers = await Promise.all([friend, small, x].map((u) => t.connect(u.token)));
    await t.connect(a.token);
    await watchers[0]!.next((f) => f.type === 'presence' && f.userId === a.userId);
    await watchers[1]!.next((f) => f.type === 'presence' && f.userId === a.userId);
    // One announcement goes to every contact at once: a frame for x would precede the pong.
    await watchers[2]!.fence();
    assert.equal(presenceOf(watchers[2]!, a.userId).length, 0);
  });

  it('answers GET presence only to users who share a conversation', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const stranger = await t.api.user('s');
    const former = await t.api.user('f');
    const g = await t.api.group(a, [b, former], 'g');
    await t.api.request('DELETE', `/v1/conversations/${g}/members/${former.userId}`, { token: a.token });
    const shared = await getPresence(b, a.userId);
    assert.equal(shared.status, 200);
    assert.deepEqual(shared.body, { userId: a.userId, online: false, lastSeenAt: shared.body.lastSeenAt });
    assert.equal((await getPresence(a, a.userId)).status, 200, 'oneself');
    const refused = await getPresence(stranger, a.userId);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'forbidden');
    assert.equal((await getPresence(former, a.userId)).status, 403, 'a former member shares nothing any more');
    assert.equal((await getPresence(b, 'no-such-user')).status, 404);
    assert.equal((await t.api.request('GET', `/v1/users/${a.userId}/presence`)).status, 401);
  });

  it('moves lastSeenAt on typing, foreground pings, sends and reads, but not on delivery acks', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const c = await t.api.direct(a, b);
    const aWs = await t.connect(a.token);
    const lastSeen = async () => (await getPresence(b, a.userId)).body.lastSeenAt as string | null;
    const movesFrom = (before: string | null) =>
      eventually(`lastSeenAt to move from ${before}`, lastSeen, (now) => now !== null && (before === null || now > before)) as Promise<string>;
    /** Activity from now on has a later timestamp than `at` (they have millisecond resolution). */
    const clockPast = (at: string) => eventually(`the clock to pass ${at}`, async () => new Date().toISOString(), (now) => now > at);
    const sent = (await t.api.send(b, c, 'hello a')).body;

    // A background delivery ack appends an event but is no activity.
    aWs.send({ type: 'delivered', ref: 'd', conversationId: c, upToSeq: sent.seq });
    await aWs.next((f) => f.type === 'event' && f.event.type === 'MessagesDelivered');
    assert.equal(await lastSeen(), null);
    aWs.send({ type: 'ping', ref: 'bg' });
    await aWs.next((f) => f.ref === 'bg');
    assert.equal(await lastSeen(), null, 'a background ping is no activity either');

    aWs.send({ type: 'typing', conversationId: c });
    const t1 = await movesFrom(null);
    await clockPast(t1);
    aWs.send({ type: 'ping', ref: 'fg', foreground: true });
    const t2 = await movesFrom(t1);
    presenceFrame.parse({ type: 'presence', userId: a.userId, ...(await getPresence(b, a.userId)).body });
    await clockPast(t2);
    await t.api.send(a, c, 'hi b');
    const t3 = await movesFrom(t2);
    const more = (await t.api.send(b, c, 'more')).body;
    await clockPast(t3);
    aWs.send({ type: 'read', ref: 'r', conversationId: c, upToSeq: more.seq });
    await movesFrom(t3);
  });

  it('keeps lastSeenAt across a restart', async () => {
    const tmp = tempDir();
    try {
      let own = await startTestServer({}, { dataDir: tmp.dir });
      const ownApi = new ApiClient(own.url);
      const a = await ownApi.user('a');
      const b = await ownApi.user('b');
      const c = await ownApi.direct(a, b);
      await ownApi.send(a, c, 'activity');
      const read = async () => (await ownApi.request('GET', `/v1/users/${a.userId}/presence`, { token: b.token })).body;
      // The gateway learns of the send from the event feed.
      const before = await eventually('a lastSeenAt for the send', read, (view) => view.lastSeenAt !== null);
      await own.stop();
      own = await startTestServer({}, { dataDir: tmp.dir });
      const restarted = new ApiClient(own.url);
      const after = (await restarted.request('GET', `/v1/users/${a.userId}/presence`, { token: b.token })).body;
      await own.stop();
      assert.deepEqual(after, { userId: a.userId, online: false, lastSeenAt: before.lastSeenAt });
    } finally {
      tmp.remove();
    }
  });
});
