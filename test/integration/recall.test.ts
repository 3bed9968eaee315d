import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { ApiClient } from '../support/client.js';
import { FcmStandIn } from '../support/fcmStandIn.js';
import { pushSettled, registerDevice } from '../support/push.js';
import { startTestServer } from '../support/server.js';
import { suiteServer } from '../support/suite.js';
import { tempDir } from '../support/tmp.js';

const SECRET = 'password 1234';

describe('a recalled message is unreadable everywhere', () => {
  const t = suiteServer();

  /** alice sends "hi" and the secret to bob, then recalls the secret. */
  async function recalledSecret() {
    const alice = await t.api.user('alice');
    const bob = await t.api.user('bob');
    const c = await t.api.direct(alice, bob);
    await t.api.send(alice, c, 'hi');
    const { seq } = (await t.api.send(alice, c, SECRET)).body;
    const recall = await t.api.request('DELETE', `/v1/conversations/${c}/messages/${seq}`, { token: alice.token });
    assert.equal(recall.status, 200);
    return { alice, bob, c, seq };
  }

  const assertNoSecret = (body: unknown) => assert.equal(JSON.stringify(body).includes(SECRET), false, JSON.stringify(body));
  const redactedSent = (items: { seq: number; type: string; data: any }[], seq: number) => {
    const sent = items.find((i) => i.seq === seq && i.type === 'MessageSent');
    assert.ok(sent, `MessageSent at ${seq}`);
    assert.deepEqual([sent.data.text, sent.data.media, sent.data.recalled], [null, null, true]);
  };

  it('history keeps its place without its text', async () => {
    const { bob, c, seq } = await recalledSecret();
    const history = await t.api.request('GET', `/v1/conversations/${c}/messages`, { token: bob.token });
    assertNoSecret(history.body);
    assert.deepEqual(
      history.body.items.map((m: any) => [m.seq, m.text, m.recalled]),
      [
        [seq - 1, 'hi', false],
        [seq, null, true],
      ],
    );
  });

  it('the events timeline serves the MessageSent without text or media, and an edit of it without its text', async () => {
    const { alice, bob, c, seq } = await recalledSecret();
    const edited = (await t.api.send(alice, c, `${SECRET} (draft)`)).body.seq;
    await t.api.request('PATCH', `/v1/conversations/${c}/messages/${edited}`, { token: alice.token, body: { text: `${SECRET} (final)` } });
    await t.api.request('DELETE', `/v1/conversations/${c}/messages/${edited}`, { token: alice.token });

    const events = await t.api.request('GET', `/v1/conversations/${c}/events?afterSeq=${seq - 1}`, { token: bob.token });
    assert.equal(events.status, 200);
    assertNoSecret(events.body);
    redactedSent(events.body.items, seq);
    redactedSent(events.body.items, edited);
    const edit = events.body.items.find((i: any) => i.type === 'MessageEdited');
    assert.deepEqual([edit.data.seq, edit.data.text, edit.data.recalled], [edited, null, true]);
    assert.ok(events.body.items.some((i: any) => i.type === 'MessageRecalled' && i.data.seq === seq), 'the recall itself is there');
  });

  it('REST sync serves the inbox copy without text', async () => {
    const { bob, seq } = await recalledSecret();
    const sync = await t.api.request('GET', '/v1/sync?afterUserSeq=0&limit=100', { token: bob.token });
    assertNoSecret(sync.body);
    redactedSent(sync.body.items, seq);
  });

  it('a WebSocket sync replays it without text, from the inbox and from the stream', async () => {
    const { bob, c, seq } = await recalledSecret();
    // One socket per sync: a socket never carries a seq twice.
    for (const [ref, frame] of [
      ['by-inbox', { afterUserSeq: 0 }],
      ['by-conversation', { conversations: { [c]: 0 } }],
    ] as const) {
      const ws = await t.connect(bob.token);
      ws.send({ type: 'sync', ref, ...frame });
      await ws.next((f) => f.type === 'synced' && f.ref === ref);
      const replayed = ws.events(c);
      assert.equal(replayed.filter((f) => f.seq === seq).length, 1, ref);
      redactedSent(replayed.map((f) => ({ seq: f.seq, ...f.event })), seq);
      assertNoSecret(ws.frames);
    }
  });

  it('the conversation list previews it as recalled and does not count it as unread', async () => {
    const { bob, c, seq } = await recalledSecret();
    const list = await t.api.request('GET', '/v1/conversations', { token: bob.token });
    const item = list.body.items.find((i: any) => i.conversationId === c);
    assert.deepEqual([item.lastMessage.seq, item.lastMessage.text, item.lastMessage.recalled], [seq, null, true]);
    assert.equal(item.unreadCount, 1, '"hi" only');
    const read = await t.api.request('POST', `/v1/conversations/${c}/read`, { token: bob.token, body: { upToSeq: seq - 1 } });
    assert.deepEqual(read.body, { readSeq: seq - 1, unreadCount: 0 });
    const after = await t.api.request('GET', '/v1/conversations', { token: bob.token });
    assert.equal(after.body.items.find((i: any) => i.conversationId === c).unreadCount, 0);
  });
});

describe('a recalled message and push', () => {
  it('a push worker that reaches a message after its recall pushes nothing for it', async () => {
    const fcm = await FcmStandIn.start();
    const tmp = tempDir();
    try {
      let server = await startTestServer({}, { fcm: fcm.options(), dataDir: tmp.dir });
      let api = new ApiClient(server.url);
      const alice = await api.user('alice');
      const bob = await api.user('bob');
      await registerDevice(api, bob, 'bob-phone');
      const c = await api.direct(alice, bob);
      await api.send(alice, c, 'before');
      await pushSettled(server);
      await server.stop();

      // Without FCM credentials the worker stays at its checkpoint: it lags behind the send and the recall.
      server = await startTestServer({}, { dataDir: tmp.dir });
      api = new ApiClient(server.url);
      const { seq } = (await api.send(alice, c, SECRET, randomUUID())).body;
      assert.equal((await api.request('DELETE', `/v1/conversations/${c}/messages/${seq}`, { token: alice.token })).status, 200);
      await server.stop();

      server = await startTestServer({}, { fcm: fcm.options(), dataDir: tmp.dir });
      api = new ApiClient(server.url);
      await api.send(alice, c, 'after');
      await pushSettled(server);
      await server.stop();
      assert.deepEqual(
        fcm.deliveredTo('bob-phone').map((p) => p.message.notification?.body),
        ['before', 'after'],
      );
      assert.equal(JSON.stringify(fcm.received).includes(SECRET), false);
    } finally {
      tmp.remove();
      await fcm.close();
    }
  });
});
