import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WsClient } from '../support/client.js';
import { suiteServer } from '../support/suite.js';
import { eventually } from '../support/waits.js';

describe('WebSocket gateway', () => {
  // A timeout many heartbeats long: a socket that answers pings is never dropped for a late timer.
  const t = suiteServer({ HEARTBEAT_INTERVAL_MS: '100', PRESENCE_TIMEOUT_MS: '2000', WS_MAX_PAYLOAD_BYTES: '4096' });

  it('refuses an upgrade without a valid token', async () => {
    await assert.rejects(WsClient.connect(t.server.wsUrl, 'bogus'), /upgrade refused: 401/);
  });

  it('acks a send with its seq after the append, and every device of every member gets it once, in order', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const stranger = await t.api.user('s');
    const c = await t.api.direct(a, b);
    const aWs = await t.connect(a.token);
    const bPhone = await t.connect(b.token);
    const bLaptop = await t.connect(b.token);
    const sWs = await t.connect(stranger.token);
    for (let i = 0; i < 20; i++) aWs.send({ type: 'send', ref: `r${i}`, conversationId: c, clientMsgId: `c${i}`, text: `hello ${i}` });
    const acks = await aWs.until((f) => {
      const acks = f.filter((x) => x.type === 'ack');
      return acks.length === 20 && acks;
    });
    assert.deepEqual(acks.map((x: any) => x.ref), Array.from({ length: 20 }, (_, i) => `r${i}`));
    assert.deepEqual(acks.map((x: any) => x.seq), Array.from({ length: 20 }, (_, i) => i + 1));
    // Acks do not wait for the read models; history is read once they have caught up.
    const stored = await eventually(
      'the history to list the 20 acked messages',
      () => t.api.request('GET', `/v1/conversations/${c}/messages?limit=100`, { token: a.token }),
      (res) => res.body.items.length === 20,
    );
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
    // A 21st message: any duplicate of the first 20 would have arrived before it.
    await t.api.send(a, c, 'fence');
    await bPhone.next((f) => f.type === 'event' && f.conversationId === c && f.seq === 21);
    assert.deepEqual(bPhone.events(c).map((e) => e.seq), Array.from({ length: 21 }, (_, i) => i + 1), 'no duplicates');
    // Each event goes to its whole audience at once: a frame for the stranger would precede the pong.
    await sWs.fence();
    assert.equal(sWs.events(c).length, 0, 'a stranger receives nothing');
  });

  it('a retried send frame is acked with the original seq and appends nothing', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const c = await t.api.direct(a, b);
    const ws = await t.connect(a.token);
    ws.send({ type: 'send', ref: 'first', conversationId: c, clientMsgId: 'same', text: 'once' });
    const first = await ws.next((f) => f.ref === 'first');
    const head = await t.server.store.headPosition();
    ws.send({ type: 'send', ref: 'retry', conversationId: c, clientMsgId: 'same', text: 'once' });
    const retry = await ws.next((f) => f.ref === 'retry');
    assert.equal(retry.type, 'ack');
    assert.equal(retry.seq, first.seq);
    assert.equal(retry.messageId, first.messageId);
    assert.equal(await t.server.store.headPosition(), head);
  });

  it('read and delivered frames move the markers and the sender sees the receipts', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const c = await t.api.direct(a, b);
    const aWs = await t.connect(a.token);
    const bWs = await t.connect(b.token);
    const sent = (await t.api.send(a, c, 'did you see this?')).body;
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
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const c = await t.api.direct(a, b);
    const first = await t.connect(b.token);
    await t.api.send(a, c, 'seen live');
    await first.next((f) => f.type === 'event' && f.event.type === 'MessageSent');
    first.send({ type: 'sync', ref: 's0', afterUserSeq: 0 });
    const s0 = await first.next((f) => f.type === 'synced');
    await first.close();
    // Offline: messages pile up.
    for (let i = 0; i < 5; i++) await t.api.send(a, c, `missed ${i}`);
    const again = await t.connect(b.token);
    const sender = await t.connect(a.token);
    again.send({ type: 'sync', ref: 's1', afterUserSeq: s0.nextUserSeq });
    // Live sends race with the replay.
    for (let i = 0; i < 5; i++) sender.send({ type: 'send', ref: `l${i}`, conversationId: c, clientMsgId: `live${i}`, text: `live ${i}` });
    const synced = await again.next((f) => f.type === 'synced');
    assert.equal(synced.complete, true);
    const events = await again.until((f) => {
      const e = f.filter((x) => x.type === 'event' && x.conversationId === c);
      return e.length >= 10 && e;
    });
    // One more message: a duplicate of anything replayed or held back would have arrived before it.
    await t.api.send(a, c, 'fence');
    await again.next((f) => f.type === 'event' && f.conversationId === c && f.seq === 12);
    const seqs = again.events(c).map((e) => e.seq);
    assert.deepEqual(seqs, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'every missed and live event once, in order');
    assert.equal(events[0].userSeq, s0.nextUserSeq + 1, 'replayed frames carry their userSeq');
  });

  it('sync by per-conversation seq replays a conversation from a position', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const c = await t.api.direct(a, b);
    for (let i = 0; i < 4; i++) await t.api.send(a, c, `m${i}`);
    const ws = await t.connect(b.token);
    ws.send({ type: 'sync', ref: 'p', conversations: { [c]: 2 } });
    const synced = await ws.next((f) => f.type === 'synced');
    assert.equal(synced.replayed, 2);
    assert.deepEqual(ws.events(c).map((e) => e.seq), [3, 4]);
  });

  it('refuses bad frames with an error frame and appends nothing', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const stranger = await t.api.user('s');
    const c = await t.api.direct(a, b);
    const ws = await t.connect(stranger.token);
    const head = await t.server.store.headPosition();
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
    assert.equal(await t.server.store.headPosition(), head);
  });

  it('closes a socket that sends a frame over maxPayload, and the server stays up', async () => {
    const a = await t.api.user('a');
    const ws = await t.connect(a.token);
    ws.send({ type: 'ping', ref: 'x'.repeat(5000) });
    await ws.until(() => ws.closeCode !== null);
    assert.equal(ws.closeCode, 1009);
    const other = await t.connect(a.token);
    other.send({ type: 'ping', ref: 'alive' });
    assert.equal((await other.next((f) => f.ref === 'alive')).type, 'pong');
  });

  it('drops a socket that stops answering heartbeats, and keeps one that answers them', async () => {
    const a = await t.api.user('a');
    const healthy = await t.connect(a.token);
    const silent = await t.connect(a.token, { autoPong: false });
    await silent.until(() => silent.closeCode !== null, 'the silent socket to be dropped');
    assert.equal(silent.closeCode, 1006);
    // Connected first, the healthy socket has been through every heartbeat the silent one missed.
    await healthy.fence();
    assert.equal(healthy.closeCode, null, 'a socket that answers pings stays');
  });
});
