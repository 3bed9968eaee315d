import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { userStream } from '../../src/domain/streams.js';
import { ApiClient } from '../support/client.js';
import { FcmStandIn } from '../support/fcmStandIn.js';
import { pushSettled, registerDevice } from '../support/push.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { suiteServer } from '../support/suite.js';
import { tempDir } from '../support/tmp.js';

/** The push outcome counters, as a scrape of the server's `GET /metrics` reads them. */
async function pushOutcomes(server: TestServer): Promise<Record<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const samples = text.matchAll(/^chat_push_notifications_total\{outcome="(\w+)"\} (\S+)$/gm);
  return Object.fromEntries([...samples].map(([, outcome, value]) => [outcome!, Number(value)]));
}

/** Starts watching the push outcome counters; the function returned says which moved since, and by how much. */
async function watchPushOutcomes(server: TestServer): Promise<() => Promise<Record<string, number>>> {
  const start = await pushOutcomes(server);
  return async () => {
    const now = await pushOutcomes(server);
    return Object.fromEntries(Object.entries(now).flatMap(([outcome, value]) => (value === (start[outcome] ?? 0) ? [] : [[outcome, value - (start[outcome] ?? 0)]])));
  };
}

/** Captures a server's log lines. */
function capturingLogger() {
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** A server pushing to an FCM stand-in of its own, for the enclosing describe block; both start with it. */
function pushSuite(env: Record<string, string>) {
  let fcm: FcmStandIn;
  before(async () => {
    fcm = await FcmStandIn.start();
  });
  after(async () => fcm.close());
  return {
    t: suiteServer(env, () => ({ fcm: fcm.options() })),
    get fcm() {
      return fcm;
    },
  };
}

describe('push notifications through FCM HTTP v1 (local stand-in)', () => {
  const suite = pushSuite({ PUSH_RETRY_BASE_MS: '50' });
  const { t } = suite;

  it('pushes a message once to every device of an offline member, with sender, preview, conversation and seq', async () => {
    const a = await t.api.user('alice');
    const b = await t.api.user('bob');
    await registerDevice(t.api, a, 'alice-phone');
    await registerDevice(t.api, b, 'bob-phone');
    await registerDevice(t.api, b, 'bob-tablet');
    const c = await t.api.direct(a, b);
    const outcomes = await watchPushOutcomes(t.server);
    const sent = (await t.api.send(a, c, 'dinner at 8?')).body;
    await pushSettled(t.server);
    assert.deepEqual(await outcomes(), { sent: 2 }, 'one per device');
    for (const token of ['bob-phone', 'bob-tablet']) {
      const pushes = suite.fcm.deliveredTo(token);
      assert.equal(pushes.length, 1, token);
      const { message } = pushes[0]!;
      assert.deepEqual(message.notification, { title: 'alice', body: 'dinner at 8?' });
      assert.deepEqual(message.data, { type: 'message', conversationId: c, seq: String(sent.seq), messageId: sent.messageId, senderId: a.userId });
      assert.equal(message.android?.priority, 'high');
    }
    assert.equal(suite.fcm.received.filter((p) => p.token === 'alice-phone').length, 0, 'the sender gets no push');
  });

  it('pushes nothing to a member with a live socket, nor for a conversation they muted', async () => {
    const a = await t.api.user('alice');
    const online = await t.api.user('olivia');
    const muter = await t.api.user('mike');
    const offline = await t.api.user('otto');
    for (const u of [online, muter, offline]) await registerDevice(t.api, u, `${u.username}-phone`);
    const g = await t.api.group(a, [online, muter, offline], 'book club');
    const muted = await t.api.request('PUT', `/v1/conversations/${g}/settings`, { token: muter.token, body: { muted: true } });
    assert.equal(muted.status, 200);
    const ws = await t.connect(online.token);

    await t.api.send(a, g, 'chapter 3 tonight');
    await pushSettled(t.server);
    const tokensPushed = () => new Set(suite.fcm.received.map((p) => p.token));
    assert.ok(tokensPushed().has(`${offline.username}-phone`));
    assert.ok(!tokensPushed().has(`${online.username}-phone`), 'online: the socket delivers it');
    assert.ok(!tokensPushed().has(`${muter.username}-phone`), 'muted');
    const push = suite.fcm.deliveredTo(`${offline.username}-phone`)[0]!;
    assert.deepEqual(push.message.notification, { title: 'book club', body: 'alice: chapter 3 tonight' });

    // Closing the app (no socket) and unmuting bring the pushes back.
    await ws.close();
    await t.api.request('PUT', `/v1/conversations/${g}/settings`, { token: muter.token, body: { muted: false } });
    await t.api.send(a, g, 'and snacks');
    await pushSettled(t.server);
    assert.equal(suite.fcm.deliveredTo(`${online.username}-phone`).length, 1);
    assert.equal(suite.fcm.deliveredTo(`${muter.username}-phone`).length, 1);
    assert.equal(suite.fcm.deliveredTo(`${offline.username}-phone`).length, 2);
  });

  it('pushes nothing of an erased account: after the erase no payload holds its words or name', async () => {
    const marker = `m${Date.now().toString(36)}`;
    const [alice, bob, carol] = [await t.api.user('alice'), await t.api.user('bob'), await t.api.user('carol')];
    await t.api.request('PATCH', '/v1/me', { token: alice.token, body: { displayName: `alicename${marker}` } });
    await registerDevice(t.api, bob, `bob-${marker}`);
    const group = await t.api.group(carol, [alice, bob], 'the group');
    await t.api.send(alice, group, `alicetext${marker}`);
    await pushSettled(t.server);
    const beforeErase = JSON.stringify(suite.fcm.deliveredTo(`bob-${marker}`));
    for (const secret of [`alicetext${marker}`, `alicename${marker}`]) assert.ok(beforeErase.includes(secret), `pushed before the erase: ${secret}`);

    assert.equal((await t.api.request('DELETE', '/v1/me', { token: alice.token, body: { password: 'correct horse' } })).status, 200);
    const pushedBefore = suite.fcm.deliveredTo(`bob-${marker}`).length;
    await t.api.send(carol, group, `caroltext${marker}`);
    await pushSettled(t.server);
    const afterErase = JSON.stringify(suite.fcm.deliveredTo(`bob-${marker}`).slice(pushedBefore));
    assert.ok(afterErase.includes(`caroltext${marker}`));
    for (const secret of [`alicetext${marker}`, `alicename${marker}`, alice.username]) assert.equal(afterErase.includes(secret), false, secret);
  });

  it('removes tokens FCM reports as unregistered or invalid, and keeps pushing to the live one', async () => {
    const a = await t.api.user('alice');
    const b = await t.api.user('bob');
    suite.fcm.unregistered.add('bob-uninstalled');
    suite.fcm.malformed.add('bob-garbage');
    for (const token of ['bob-uninstalled', 'bob-garbage', 'bob-current']) await registerDevice(t.api, b, token);
    const c = await t.api.direct(a, b);
    let outcomes = await watchPushOutcomes(t.server);
    await t.api.send(a, c, 'first');
    await pushSettled(t.server);
    assert.deepEqual(await outcomes(), { sent: 1, pruned: 2 });
    const removed = (await t.server.store.readStream(userStream(b.userId)))
      .filter((e) => e.type === 'DeviceRemoved')
      .map((e) => (e.data as { token: string }).token)
      .sort();
    assert.deepEqual(removed, ['bob-garbage', 'bob-uninstalled']);

    outcomes = await watchPushOutcomes(t.server);
    await t.api.send(a, c, 'second');
    await pushSettled(t.server);
    assert.deepEqual(await outcomes(), { sent: 1 });
    assert.equal(suite.fcm.received.filter((p) => p.token === 'bob-uninstalled').length, 1, 'a pruned token is not tried again');
    assert.equal(suite.fcm.received.filter((p) => p.token === 'bob-garbage').length, 1);
    assert.equal(suite.fcm.deliveredTo('bob-current').length, 2);
  });

  it('retries what FCM could not take until it is delivered, without holding up the write path', async () => {
    const a = await t.api.user('alice');
    const b = await t.api.user('bob');
    await registerDevice(t.api, b, 'bob-503');
    await registerDevice(t.api, b, 'bob-500');
    suite.fcm.failing.set('bob-503', { times: 1, error: 'UNAVAILABLE' });
    suite.fcm.failing.set('bob-500', { times: 2, error: 'INTERNAL' });
    const c = await t.api.direct(a, b);
    const outcomes = await watchPushOutcomes(t.server);
    const sent = await t.api.send(a, c, 'are you there?');
    assert.equal(sent.status, 201, 'the write path does not wait for push');
    await pushSettled(t.server);
    // firebase-admin retries a 503 by itself; the worker retries the 500s (the backoff is in decide.spec.ts).
    assert.equal(suite.fcm.received.filter((p) => p.token === 'bob-503').length, 2);
    assert.equal(suite.fcm.received.filter((p) => p.token === 'bob-500').length, 3);
    assert.equal(suite.fcm.deliveredTo('bob-503').length, 1);
    assert.equal(suite.fcm.deliveredTo('bob-500').length, 1);
    assert.deepEqual(await outcomes(), { sent: 2, retried: 2 }, 'the 503 retried inside firebase-admin is not a retry of ours');
  });

  it('gives up after the last attempt', async () => {
    const a = await t.api.user('alice');
    const b = await t.api.user('bob');
    await registerDevice(t.api, b, 'bob-overloaded');
    suite.fcm.failing.set('bob-overloaded', { times: 100, error: 'QUOTA_EXCEEDED' });
    const toBob = await t.api.direct(a, b);
    const outcomes = await watchPushOutcomes(t.server);
    await t.api.send(a, toBob, 'first');
    await pushSettled(t.server);
    assert.equal(suite.fcm.received.filter((p) => p.token === 'bob-overloaded').length, 5, 'PUSH_MAX_ATTEMPTS');
    assert.equal(suite.fcm.deliveredTo('bob-overloaded').length, 0);
    assert.deepEqual(await outcomes(), { retried: 4, given_up: 1 });
  });
});

describe('push while a retry waits', () => {
  // A first retry at least 30 s away: no test here lasts that long.
  const suite = pushSuite({ PUSH_RETRY_BASE_MS: '60000' });
  const { t } = suite;

  it('does not hold newer pushes back', async () => {
    const a = await t.api.user('alice');
    const b = await t.api.user('bob');
    const carol = await t.api.user('carol');
    await registerDevice(t.api, b, 'bob-overloaded');
    await registerDevice(t.api, carol, 'carol-phone');
    suite.fcm.failing.set('bob-overloaded', { times: 100, error: 'QUOTA_EXCEEDED' });
    const toBob = await t.api.direct(a, b);
    const toCarol = await t.api.direct(a, carol);
    await t.api.send(a, toBob, 'first');
    await suite.fcm.until(() => suite.fcm.received.some((p) => p.token === 'bob-overloaded'));
    await t.api.send(a, toCarol, 'second');
    await suite.fcm.until(() => suite.fcm.deliveredTo('carol-phone').length === 1);
    assert.equal(suite.fcm.received.filter((p) => p.token === 'bob-overloaded').length, 1, "carol's push went out while bob's waited to retry");
  });
});

describe('push across restarts and configuration', () => {
  it('resumes from its checkpoint: old pushes are not sent again, messages sent while push was off are not skipped', async () => {
    const fcm = await FcmStandIn.start();
    const tmp = tempDir();
    try {
      let server = await startTestServer({}, { fcm: fcm.options(), dataDir: tmp.dir });
      let api = new ApiClient(server.url);
      const a = await api.user('alice');
      const b = await api.user('bob');
      await registerDevice(api, b, 'bob-phone');
      const c = await api.direct(a, b);
      await api.send(a, c, 'before the restart');
      await pushSettled(server);
      assert.equal(fcm.deliveredTo('bob-phone').length, 1);
      await server.stop();

      // Without credentials push is off, with one line at start-up, and its checkpoint stays put.
      const log = capturingLogger();
      server = await startTestServer({}, { dataDir: tmp.dir, logger: log.logger });
      assert.deepEqual(
        log.lines.filter((l) => /push/i.test(l.msg)).map((l) => l.msg),
        ['push notifications off: no FCM credentials (set FCM_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS)'],
      );
      api = new ApiClient(server.url);
      await api.send(a, c, 'while push was off');
      await server.stop();

      server = await startTestServer({ PUSH_PREVIEW: 'hide' }, { fcm: fcm.options(), dataDir: tmp.dir });
      api = new ApiClient(server.url);
      await api.send(a, c, 'after the restart');
      await pushSettled(server);
      await server.stop();
      const pushes = fcm.deliveredTo('bob-phone').map((p) => p.message);
      assert.deepEqual(
        pushes.map((m) => [m.data?.seq, m.notification?.body]),
        [
          ['1', 'before the restart'],
          ['2', 'New message'],
          ['3', 'New message'],
        ],
        'each message pushed exactly once, in order; previews hidden by PUSH_PREVIEW=hide',
      );
    } finally {
      tmp.remove();
      await fcm.close();
    }
  });

  it('turns push on with FCM_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS', async () => {
    const tmp = tempDir();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = {
      type: 'service_account',
      project_id: 'chat-prod',
      client_email: 'push@chat-prod.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    const keyFile = join(tmp.dir, 'service-account.json');
    writeFileSync(keyFile, JSON.stringify(key));
    try {
      const configurations: Record<string, string>[] = [
        { FCM_SERVICE_ACCOUNT: JSON.stringify(key) },
        { GOOGLE_APPLICATION_CREDENTIALS: keyFile, FCM_PROJECT_ID: 'chat-prod' },
      ];
      for (const env of configurations) {
        const log = capturingLogger();
        const server = await startTestServer(env, { logger: log.logger });
        await server.stop();
        const lines = log.lines.filter((l) => /push/i.test(l.msg));
        assert.deepEqual(
          lines.map((l) => [l.msg, l.projectId]),
          [['push notifications on (FCM HTTP v1)', 'chat-prod']],
          Object.keys(env).join(),
        );
      }
    } finally {
      tmp.remove();
    }
  });
});
