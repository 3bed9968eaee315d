import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presenceFrame } from '../../src/gateway/frames.js';
import { ApiClient, type WsClient } from '../support/client.js';
import { startTestServer } from '../support/server.js';
import { suiteServer } from '../support/suite.js';
import { tempDir } from '../support/tmp.js';

const HEARTBEAT_MS = 100;
const TIMEOUT_MS = 400;
const NOTIFY_INTERVAL_MS = 300;

describe('presence', () => {
  const t = suiteServer({
    HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
    PRESENCE_TIMEOUT_MS: String(TIMEOUT_MS),
    PRESENCE_NOTIFY_INTERVAL_MS: String(NOTIFY_INTERVAL_MS),
    INBOX_PULL_THRESHOLD: '3',
  });
  const presenceOf = (ws: WsClient, userId: string) => ws.frames.filter((f) => f.type === 'presence' && f.userId === userId);
  const getPresence = (asker: { token: string }, userId: string) => t.api.request('GET', `/v1/users/${userId}/presence`, { token: asker.token });

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
    assert.equal(presenceOf(sWs, a.userId).length, 0);
  });

  it('drops a socket that stops answering within the timeout, and the user goes offline', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    await t.api.direct(a, b);
    const bWs = await t.connect(b.token);
    const connectedAt = Date.now();
    const silent = await t.connect(a.token, { autoPong: false });
    await bWs.next((f) => f.type === 'presence' && f.userId === a.userId && f.online);
    await silent.until(() => silent.closeCode !== null, 3000);
    const droppedAfter = Date.now() - connectedAt;
    assert.equal(silent.closeCode, 1006);
    // The bound is the timeout; the margin is for timers firing late on a busy machine.
    assert.ok(droppedAfter <= TIMEOUT_MS + 250, `dropped after ${droppedAfter} ms`);
    const offline = await bWs.next((f) => f.type === 'presence' && f.userId === a.userId && !f.online, 2000);
    assert.equal(offline.online, false);
  });

  it('stays online while another device is connected', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    await t.api.direct(a, b);
    const bWs = await t.connect(b.token);
    const phone = await t.connect(a.token);
    const laptop = await t.connect(a.token);
    await bWs.next((f) => f.type === 'presence' && f.userId === a.userId);
    await phone.close();
    await new Promise((r) => setTimeout(r, NOTIFY_INTERVAL_MS + 150));
    assert.deepEqual(presenceOf(bWs, a.userId).map((f) => f.online), [true]);
    assert.equal((await getPresence(b, a.userId)).body.online, true);
    await laptop.close();
    await bWs.next((f) => f.type === 'presence' && f.userId === a.userId && !f.online);
  });

  it('a flapping connection costs its contacts one frame per interval, and they end with the right state', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    await t.api.direct(a, b);
    const bWs = await t.connect(b.token);
    const started = Date.now();
    for (let i = 0; i < 6; i++) {
      const flap = await t.connect(a.token);
      await flap.close();
    }
    const flapping = Date.now() - started;
    await new Promise((r) => setTimeout(r, 3 * NOTIFY_INTERVAL_MS));
    const seen = presenceOf(bWs, a.userId).map((f) => f.online);
    // 12 changes; one frame at the start, then at most one per window that closed meanwhile.
    assert.ok(seen.length <= 2 + Math.floor(flapping / NOTIFY_INTERVAL_MS), `${seen.length} frames in ${flapping} ms`);
    assert.equal(seen[0], true);
    assert.equal(seen.at(-1), false, 'the last word is the final state');
    if (flapping < NOTIFY_INTERVAL_MS) assert.deepEqual(seen, [true, false]);
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
    await new Promise((r) => setTimeout(r, 100));
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
    const movesFrom = async (before: string | null) => {
      const deadline = Date.now() + 3000;
      for (;;) {
        const now = await lastSeen();
        if (now !== null && (before === null || now > before)) return now;
        if (Date.now() > deadline) throw new Error(`lastSeenAt stayed at ${before}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
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
    await new Promise((r) => setTimeout(r, 5));
    aWs.send({ type: 'ping', ref: 'fg', foreground: true });
    const t2 = await movesFrom(t1);
    presenceFrame.parse({ type: 'presence', userId: a.userId, ...(await getPresence(b, a.userId)).body });
    await new Promise((r) => setTimeout(r, 5));
    await t.api.send(a, c, 'hi b');
    const t3 = await movesFrom(t2);
    const more = (await t.api.send(b, c, 'more')).body;
    await new Promise((r) => setTimeout(r, 5));
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
      let before = await read();
      for (let i = 0; before.lastSeenAt === null && i < 100; i++) {
        await new Promise((r) => setTimeout(r, 10));
        before = await read();
      }
      assert.notEqual(before.lastSeenAt, null);
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
