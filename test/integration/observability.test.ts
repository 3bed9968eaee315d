import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventMetadata } from '../../src/commands/commandHandler.js';
import { openSqlite } from '../../src/db/sqlite.js';
import { userStream } from '../../src/domain/streams.js';
import { ApiClient, WsClient } from '../support/client.js';
import { startTestServer, type TestServer, embeddedOnly } from '../support/server.js';

/** The value of one sample line of a Prometheus text exposition. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',');
    if (wanted.every((w) => have.includes(w))) return Number(m[3]);
  }
  return undefined;
}

describe('observability', () => {
  let server: TestServer;
  let api: ApiClient;
  before(async () => {
    server = await startTestServer({ READY_MAX_LAG_SECONDS: '2' });
    api = new ApiClient(server.url);
  });
  after(() => server.stop());

  it('exposes HTTP latency by route, WS connections, sends, append latency, projection lag and push outcomes', async () => {
    const a = await api.user('a');
    const b = await api.user('b');
    const c = await api.direct(a, b);
    for (let i = 0; i < 3; i++) assert.equal((await api.send(a, c, `m${i}`)).status, 201);
    await api.request('GET', `/v1/conversations/${c}/messages`, { token: b.token });
    const ws = await WsClient.connect(server.wsUrl, b.token);
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const route = { method: 'POST', route: '/v1/conversations/:id/messages', status: '201' };
    assert.equal(sample(text, 'http_request_duration_seconds_count', route), 3);
    assert.equal(sample(text, 'http_request_duration_seconds_count', { method: 'GET', route: '/v1/conversations/:id/messages', status: '200' }), 1);
    assert.equal(sample(text, 'chat_ws_connections'), 1);
    assert.equal(sample(text, 'chat_messages_sent_total'), 3);
    assert.ok(sample(text, 'chat_event_append_duration_seconds_count', { outcome: 'ok' })! >= 3 + 2 + 2 + 1);
    for (const projection of ['conversations', 'userConversations', 'messages', 'inbox', 'users']) {
      assert.equal(sample(text, 'chat_projection_lag_events', { projection }), 0, projection);
      assert.equal(sample(text, 'chat_projection_lag_seconds', { projection }), 0, projection);
    }
    assert.match(text, /^# TYPE chat_push_notifications_total counter$/m);
    for (const outcome of ['sent', 'pruned', 'failed', 'retried', 'given_up']) {
      assert.equal(sample(text, 'chat_push_notifications_total', { outcome }), 0, `${outcome} is exported before the first push`);
    }
    assert.match(text, /^process_cpu_seconds_total /m);
    await ws.close();
  });

  it('answers /healthz while up, and /readyz 503 with a reason while a projection lags past the bound', async () => {
    assert.equal((await api.request('GET', '/healthz')).status, 200);
    assert.deepEqual((await api.request('GET', '/readyz')).body, { status: 'ready' });

    const a = await api.user('lagging');
    await server.projections.stop();
    const tenSecondsAgo = new Date(Date.now() - 10_000).toISOString();
    await server.store.append(
      userStream(a.userId),
      [{ type: 'ProfileUpdated', data: { displayName: 'late' }, metadata: eventMetadata('dc1', { correlationId: 't' }, undefined, tenSecondsAgo) }],
      'any',
    );
    const lagging = await api.request('GET', '/readyz');
    assert.equal(lagging.status, 503);
    assert.equal(lagging.body.status, 'unavailable');
    assert.match(lagging.body.reason, /^projections lag more than 2 s behind the head: conversations \(1\d\.\d s, 1 events\), userConversations/);

    await server.projections.start();
    assert.ok(await server.projections.waitFor(await server.store.headPosition()));
    assert.equal((await api.request('GET', '/readyz')).status, 200);
  });
});

describe('graceful shutdown', { skip: embeddedOnly }, () => {
  it('answers every command it accepted, closes sockets with "going away" and leaves the checkpoints at the head', async () => {
    const server = await startTestServer();
    const api = new ApiClient(server.url);
    const a = await api.user('a');
    const b = await api.user('b');
    const c = await api.direct(a, b);
    const ws = await WsClient.connect(server.wsUrl, a.token);
    const FRAMES = 40;
    for (let i = 0; i < FRAMES; i++) ws.send({ type: 'send', ref: `r${i}`, conversationId: c, clientMsgId: `k${i}`, text: `m${i}` });
    let received = 0;
    server.http.on('request', () => received++);
    const posts = Array.from({ length: 10 }, (_, i) => api.send(b, c, `http ${i}`));
    // Stop while all of those are being handled: the first ack is out, the rest are in flight.
    await ws.next((f) => f.type === 'ack');
    while (received < 10) await new Promise((r) => setImmediate(r));
    await server.close();

    const acks = ws.frames.filter((f) => f.type === 'ack');
    assert.equal(acks.length, FRAMES, 'every frame received before the stop is answered');
    await ws.until(() => ws.closeCode !== null);
    assert.equal(ws.closeCode, 1001);
    const replies = await Promise.all(posts);
    assert.deepEqual(replies.map((r) => r.status), Array(10).fill(201));

    const db = openSqlite(join(server.dataDir, 'chat.db'));
    const head = (db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number }).p;
    const checkpoints = db.prepare('SELECT name, position FROM rm_checkpoints ORDER BY name').all();
    const sent = (db.prepare(`SELECT COUNT(*) AS n FROM events WHERE type = 'MessageSent'`).get() as { n: number }).n;
    db.close();
    await server.stop();
    assert.equal(sent, FRAMES + 10);
    assert.deepEqual(
      checkpoints,
      ['conversations', 'inbox', 'messages', 'userConversations', 'users'].map((name) => ({ name, position: head })),
    );
  });
});
