import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiClient, WsClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('WebSocket gateway', () => {
  let server: TestServer;
  let api: ApiClient;
  const sockets: WsClient[] = [];
  const connect = async (token: string, options = {}) => {
    const ws = await WsClient.connect(server.wsUrl, token, options);
    sockets.push(ws);
    return ws;
  };
  before(async () => {
    server = await startTestServer({ HEARTBEAT_INTERVAL_MS: '200', PRESENCE_TIMEOUT_MS: '600', WS_MAX_PAYLOAD_BYTES: '4096' });
    api = new ApiClient(server.url);
  });
  after(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await server.stop();
  });

  it('refuses an upgrade without a valid token', async () => {
    await assert.rejects(WsClient.connect(server.wsUrl, 'bogus'), /upgrade refused: 401/);
  });

  it('acks a send with its seq after the append, and every device of every member gets it once, in order', async () => {
    const a = await api.user('a');
    const b = await api.user('b');
    const stranger = await api.user('s');
    const c = await api.direct(a, b);
    const aWs = await connect(a.token);
    const bPhone = await connect(b.token);
    const bLaptop = await connect(b.token);
    const sWs = await connect(stranger.token);
    for (let i = 0; i < 20; i++) aWs.send({ type: 'send', ref: `r${i}`, conversationId: c, clientMsgId: `c${i}`, text: `hello ${i}` });
    const acks = await aWs.until((f) => {
      const acks = f.filter((x) => x.type === 'ack');
      return acks.length === 20 && acks;
    });
    assert.deepEqual(acks.map((x: any) => x.ref), Array.from({ length: 20 }, (_, i) => `r${i}`));
    assert.deepEqual(acks.map((x: any) => x.seq), Array.from({ length: 20 }, (_, i) => i + 1));
    // Acks do not wait for the read models; history is read once they have caught up.
    await server.projections.waitFor(await server.store.headPosition());
    const stored = await api.request('GET', `/v1/conversations/${c}/messages?limit=100`, { token: a.token });
    assert.deepEqual(stored.body.items.map((m: any) => m.messageId), acks.map((x: any) => x.messageId));
    for (const device of [bPhone, bLaptop, aWs]) {
      const events = await device.until((f) => {
        const e = f.filter((x) => x.type === 'event' && x.conversationId === c);
        return e.length >= 20 && e;
      });
      assert.deepEqual(events.map((e: any) => e.seq), Array.from({ length: 20 }, (_, i) => i + 1));
      assert.equal(events[0].event.type, 'MessageSent');
      assert.equal(events[0].event.data.text, 'hello 0');
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(bPhone.events(c).length, 20, 'no duplicates');
    assert.equal(sWs.events(c).length, 0, 'a stranger receives nothing');
  });

  it('a retried send frame is acked with the original seq and appends nothing', async () => {
    const a = await api.user('a');
    const b = await api.user('b');
    const c = await api.direct(a, b);
    const ws = await connect(a.token);
    ws.send({ type: 'send', ref: 'first', conversationId: c, clientMsgId: 'same', text: 'once' });
    const first = await ws.next((f) => f.ref === 'first');
    const head = await server.store.headPosition();
    ws.send({ type: 'send', ref: 'retry', conversationId: c, clientMsgId: 'same', text: 'once' });
    const retry = await ws.next((f) => f.ref === 'retry');
    assert.equal(retry.type, 'ack');
    assert.equal(retry.seq, first.seq);
    assert.equal(retry.messageId, first.messageId);
    assert.equal(await server.store.headPosition(), head);
  });

  it('read and delivered frames move the markers and the sender sees the receipts', async () => {
    const a = await api.user('a');
    const b = await api.user('b');
    const c = await api.direct(a, b);
    const aWs = await connect(a.token);
    const bWs = await connect(b.token);
    const sent = (await api.send(a, c, 'did you see this?')).body;
    bWs.send({ type: 'delivered', ref: 'd', conversationId: c, upToSeq: sent.seq });
    assert.equal((await bWs.next((f) => f.ref === 'd')).deliveredSeq, sent.seq);
    const delivered = await aWs.next((f) => f.type === 'event' && f.event.type === 'MessagesDelivered');
    assert.deepEqual(delivered.event.data, { userId: b.userId, upToSeq: sent.seq });
    bWs.send({ type: 'read', ref: 'r', conversationId: c, upToSeq: sent.seq });
    const ack = await bWs.next((f) => f.ref === 'r');
    assert.deepEqual([ack.readSeq, ack.unreadCount], [sent.seq, 0]);
    const read = await aWs.next((f) => f.type === 'event' && f.event.type === 'MessageRead');
    assert.deepEqual(read.event.data, { userId: b.userId, upToSeq: sent.seq });
  });

  it('sync replays what a reconnecting client missed, then live events continue without gap or duplicate', async () => {
    const a = await api.user('a');
    const b = await api.user('b');
    const c = await api.direct(a, b);
    const first = await connect(b.token);
    await api.send(a, c, 'seen live');
    await first.next((f) => f.type === 'event' && f.event.type === 'MessageSent');
    first.send({ type: 'sync', ref: 's0', afterUserSeq: 0 });
    const s0 = await first.next((f) => f.type === 'synced');
    await first.close();
    // Offline: messages pile up.
    for (let i = 0; i < 5; i++) await api.send(a, c, `missed ${i}`);
    const again = await connect(b.token);
    const sender = await connect(a.token);
    again.send({ type: 'sync', ref: 's1', afterUserSeq: s0.nextUserSeq });
    // Live sends race with the replay.
    for (let i = 0; i < 5; i++) sender.send({ type: 'send', ref: `l${i}`, conversationId: c, clientMsgId: `live${i}`, text: `live ${i}` });
    const synced = await again.next((f) => f.type === 'synced');
    assert.equal(synced.complete, true);
    const events = await again.until((f) => {
      const e = f.filter((x) => x.type === 'event' && x.conversationId === c);
      return e.length >= 10 && e;
    });
    await new Promise((r) => setTimeout(r, 150));
    const seqs = again.events(c).map((e) => e.seq);
    assert.deepEqual(seqs, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'every missed and live event once, in order');
    assert.equal(events[0].userSeq, s0.nextUserSeq + 1, 'replayed frames carry their userSeq');
  });

  it('sync by per-conversation seq replays a conversation from a position', async () => {
    const a = await api.user('a');
    const b = await api.user('b');
    const c = await api.direct(a, b);
    for (let i = 0; i < 4; i++) await api.send(a, c, `m${i}`);
    const ws = await connect(b.token);
    ws.send({ type: 'sync', ref: 'p', conversations: { [c]: 2 } });
    const synced = await ws.next((f) => f.type === 'synced');
    assert.equal(synced.replayed, 2);
    assert.deepEqual(ws.events(c).map((e) => e.seq), [3, 4]);
  });

  it('refuses bad frames with an error frame and appends nothing', async () => {
    const a = await api.user('a');
    const b = await api.user('b');
    const stranger = await api.user('s');
    const c = await api.direct(a, b);
    const ws = await connect(stranger.token);
    const head = await server.store.headPosition();
    ws.send('{not json');
    assert.equal((await ws.next((f) => f.type === 'error')).code, 'invalid_json');
    ws.send({ type: 'send', ref: 'x', conversationId: c, clientMsgId: 'm', text: 'intruder' });
    assert.equal((await ws.next((f) => f.ref === 'x')).code, 'not_a_member');
    ws.send({ type: 'read', ref: 'y', conversationId: c, upToSeq: 0 });
    assert.equal((await ws.next((f) => f.ref === 'y')).code, 'not_a_member');
    ws.send({ type: 'send', ref: 'z', conversationId: c, clientMsgId: 'm', text: 5 });
    const invalid = await ws.next((f) => f.ref === 'z');
    assert.equal(invalid.code, 'validation_failed');
    assert.ok(Array.isArray(invalid.issues));
    ws.send({ type: 'teleport', ref: 'w' });
    assert.equal((await ws.next((f) => f.ref === 'w')).code, 'validation_failed');
    ws.send({ type: 'ping', ref: 'p' });
    assert.equal((await ws.next((f) => f.ref === 'p')).type, 'pong');
    assert.equal(await server.store.headPosition(), head);
  });

  it('closes a socket that sends a frame over maxPayload, and the server stays up', async () => {
    const a = await api.user('a');
    const ws = await connect(a.token);
    ws.send({ type: 'ping', ref: 'x'.repeat(5000) });
    await ws.until(() => ws.closeCode !== null);
    assert.equal(ws.closeCode, 1009);
    const other = await connect(a.token);
    other.send({ type: 'ping', ref: 'alive' });
    assert.equal((await other.next((f) => f.ref === 'alive')).type, 'pong');
  });

  it('drops a socket that stops answering heartbeats', async () => {
    const a = await api.user('a');
    const silent = await connect(a.token, { autoPong: false });
    await silent.until(() => silent.closeCode !== null, 3000);
    assert.equal(silent.closeCode, 1006);
    const healthy = await connect(a.token);
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(healthy.closeCode, null, 'a socket that answers pings stays');
  });
});
