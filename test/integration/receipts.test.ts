import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { suiteServer } from '../support/suite.js';
import { eventually } from '../support/waits.js';

/** The tick a sender shows on a 1:1 message, from the other member's markers. */
const tick = (seq: number, peer: { deliveredSeq: number; readSeq: number }) =>
  peer.readSeq >= seq ? 'read' : peer.deliveredSeq >= seq ? 'delivered' : 'sent';

describe('receipts', () => {
  const t = suiteServer();

  it('1:1: the sender sees sent, delivered and read per message as the markers move forward', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const c = await t.api.direct(a, b);
    const aWs = await t.connect(a.token);
    const bWs = await t.connect(b.token);
    const seqs: number[] = [];
    for (const text of ['one', 'two', 'three']) {
      aWs.send({ type: 'send', ref: text, conversationId: c, clientMsgId: text, text });
      seqs.push((await aWs.next((f) => f.type === 'ack' && f.ref === text)).seq);
    }
    const ticks = async () => {
      const peer = (await t.api.request('GET', `/v1/conversations/${c}`, { token: a.token })).body.members.find((m: any) => m.userId === b.userId);
      return seqs.map((s) => tick(s, peer));
    };
    assert.deepEqual(await ticks(), ['sent', 'sent', 'sent']);

    // b's phone receives up to the second message...
    bWs.send({ type: 'delivered', ref: 'd', conversationId: c, upToSeq: seqs[1] });
    const delivered = await aWs.next((f) => f.type === 'event' && f.event.type === 'MessagesDelivered');
    assert.deepEqual(delivered.event.data, { userId: b.userId, upToSeq: seqs[1] });
    assert.deepEqual(await ticks(), ['delivered', 'delivered', 'sent']);
    // ...and b reads the first.
    bWs.send({ type: 'read', ref: 'r', conversationId: c, upToSeq: seqs[0] });
    const read = await aWs.next((f) => f.type === 'event' && f.event.type === 'MessageRead');
    assert.deepEqual(read.event.data, { userId: b.userId, upToSeq: seqs[0] });
    assert.deepEqual(await ticks(), ['read', 'delivered', 'sent']);

    // A marker that would not move forward appends nothing, and the sender hears nothing.
    const head = await t.server.store.headPosition();
    bWs.send({ type: 'delivered', ref: 'again', conversationId: c, upToSeq: seqs[0] });
    assert.equal((await bWs.next((f) => f.ref === 'again')).deliveredSeq, seqs[1]);
    bWs.send({ type: 'read', ref: 'older', conversationId: c, upToSeq: seqs[0] });
    assert.equal((await bWs.next((f) => f.ref === 'older')).readSeq, seqs[0]);
    assert.equal(await t.server.store.headPosition(), head);
    // A marker that does move: a receipt for either of the two above would have arrived before it.
    bWs.send({ type: 'delivered', ref: 'fence', conversationId: c, upToSeq: seqs[2] });
    await aWs.next((f) => f.type === 'event' && f.event.type === 'MessagesDelivered' && f.event.data.upToSeq === seqs[2]);
    const receipts = aWs.events(c).filter((e) => e.event.type === 'MessagesDelivered' || e.event.type === 'MessageRead');
    assert.deepEqual(
      receipts.map((e) => [e.event.type, e.event.data.upToSeq]),
      [
        ['MessagesDelivered', seqs[1]],
        ['MessageRead', seqs[0]],
        ['MessagesDelivered', seqs[2]],
      ],
    );
  });

  it('group: lists who of the members at the time has received and who has read a message', async () => {
    const [a, b, c, d, late] = [await t.api.user('a'), await t.api.user('b'), await t.api.user('c'), await t.api.user('d'), await t.api.user('late')];
    const g = await t.api.group(a, [b, c, d], 'team');
    const sent = (await t.api.send(a, g, 'ship it?')).body;
    const after = (await t.api.send(a, g, 'anyone?')).body;
    await t.api.request('POST', `/v1/conversations/${g}/members`, { token: a.token, body: { userId: late.userId } });
    await t.api.request('POST', `/v1/conversations/${g}/read`, { token: late.token, body: { upToSeq: after.seq } });
    const bWs = await t.connect(b.token);
    const cWs = await t.connect(c.token);
    bWs.send({ type: 'delivered', ref: 'd', conversationId: g, upToSeq: sent.seq });
    cWs.send({ type: 'read', ref: 'r', conversationId: g, upToSeq: after.seq });
    await bWs.next((f) => f.ref === 'd');
    await cWs.next((f) => f.ref === 'r');

    const path = `/v1/conversations/${g}/messages/${sent.seq}/receipts`;
    // The receipts read model follows the event feed.
    const { body } = await eventually(
      'receipts from b and c',
      () => t.api.request('GET', path, { token: a.token }),
      (res) => res.status === 200 && res.body.readBy.length === 1 && res.body.deliveredTo.length === 2,
    );
    assert.deepEqual(body, {
      seq: sent.seq,
      messageId: sent.messageId,
      senderId: a.userId,
      recipients: 3,
      deliveredTo: [b.userId, c.userId].sort(),
      readBy: [c.userId],
    });
    // Any member may look, the late joiner included; they are just not among the recipients.
    assert.equal((await t.api.request('GET', path, { token: late.token })).body.recipients, 3);
  });

  it('is in the OpenAPI document, as is presence', async () => {
    const doc = (await t.api.request('GET', '/v1/openapi.json')).body;
    const receipts = doc.paths['/v1/conversations/{id}/messages/{seq}/receipts'].get;
    assert.deepEqual(receipts.parameters.map((p: any) => p.name).sort(), ['id', 'seq']);
    assert.ok(doc.paths['/v1/users/{id}/presence'].get);
  });

  it('refuses receipts for a seq that is no message, for strangers, and with a bad seq', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const stranger = await t.api.user('s');
    const c = await t.api.direct(a, b);
    const sent = (await t.api.send(a, c, 'hi')).body;
    const get = (seq: number | string, token = a.token) => t.api.request('GET', `/v1/conversations/${c}/messages/${seq}/receipts`, { token });
    assert.equal((await get(sent.seq)).status, 200);
    assert.equal((await get(0)).status, 404, 'seq 0 is ConversationCreated, not a message');
    assert.equal((await get(sent.seq + 5)).status, 404);
    assert.equal((await get(sent.seq, stranger.token)).status, 403);
    assert.equal((await get('minus-one')).status, 400);
  });
});
