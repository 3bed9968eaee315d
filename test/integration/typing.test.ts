import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { typingFrame } from '../../src/gateway/frames.js';
import type { WsClient } from '../support/client.js';
import { suiteServer, type SuiteServer } from '../support/suite.js';

/**
 * When indicators expire and how often renewals go out is proven with mock timers in
 * src/gateway/typing.spec.ts. Here the TTL and the throttle are either far longer than any test
 * (nothing expires or unthrottles by itself) or as short as allowed (to see an expiry at all).
 */
const LONG_TTL_MS = 60_000;
const LONG_THROTTLE_MS = 30_000;

/** Two users in a direct conversation, each with a socket. */
async function connectedPair(t: SuiteServer) {
  const a = await t.api.user('a');
  const b = await t.api.user('b');
  const c = await t.api.direct(a, b);
  return { a, b, c, aWs: await t.connect(a.token), bWs: await t.connect(b.token) };
}

const typingFrames = (ws: WsClient, userId: string, conversationId?: string) =>
  ws.frames.filter((f) => f.type === 'typing' && f.userId === userId && (!conversationId || f.conversationId === conversationId));

describe('typing indicators', () => {
  const t = suiteServer({ TYPING_TTL_MS: String(LONG_TTL_MS), TYPING_THROTTLE_MS: String(LONG_THROTTLE_MS), INBOX_PULL_THRESHOLD: '3' });

  it("goes to every device of the conversation's other online members, not to the typist or strangers, and is never stored", async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const stranger = await t.api.user('s');
    const c = await t.api.direct(a, b);
    const aPhone = await t.connect(a.token);
    const aLaptop = await t.connect(a.token);
    const bPhone = await t.connect(b.token);
    const bLaptop = await t.connect(b.token);
    const sWs = await t.connect(stranger.token);
    const head = await t.server.store.headPosition();
    aPhone.send({ type: 'typing', conversationId: c });
    for (const device of [bPhone, bLaptop]) {
      const frame = await device.next((f) => f.type === 'typing');
      assert.deepEqual(frame, { type: 'typing', conversationId: c, userId: a.userId, typing: true, expiresInMs: LONG_TTL_MS });
      typingFrame.parse(frame);
    }
    // One indicator goes to its whole audience at once: a frame for anyone else would precede their pong.
    for (const device of [aLaptop, aPhone, sWs]) await device.fence();
    assert.equal(typingFrames(aLaptop, a.userId).length, 0, "the typist's other devices");
    assert.equal(typingFrames(aPhone, a.userId).length, 0);
    assert.equal(typingFrames(sWs, a.userId).length, 0);
    assert.equal(await t.server.store.headPosition(), head, 'typing appends no event');
  });

  it('stops at once on typing:false, long before the TTL', async () => {
    const { a, c, aWs, bWs } = await connectedPair(t);
    aWs.send({ type: 'typing', conversationId: c });
    await bWs.next((f) => f.type === 'typing' && f.typing);
    aWs.send({ type: 'typing', conversationId: c, typing: false });
    aWs.send({ type: 'send', ref: 'm', conversationId: c, clientMsgId: 'm1', text: 'after the stop' });
    const message = await bWs.next((f) => f.type === 'event' && f.event.type === 'MessageSent');
    const stop = bWs.frames.findIndex((f) => f.type === 'typing' && !f.typing);
    assert.ok(stop >= 0 && stop < bWs.frames.indexOf(message), 'the stop arrives before a message sent after it');
    assert.deepEqual(bWs.frames[stop], { type: 'typing', conversationId: c, userId: a.userId, typing: false });
  });

  it('is throttled per sender in groups above the inbox threshold, restarts included', async () => {
    const [a, b, c, d] = [await t.api.user('a'), await t.api.user('b'), await t.api.user('c'), await t.api.user('d')];
    const big = await t.api.group(a, [b, c, d], 'four members, threshold 3');
    const small = await t.api.group(a, [b], 'two members');
    const aWs = await t.connect(a.token);
    const bWs = await t.connect(b.token);
    const shown = (conversationId: string) => typingFrames(bWs, a.userId, conversationId).map((f) => f.typing);
    for (const conversationId of [big, small]) {
      aWs.send({ type: 'typing', conversationId });
      await bWs.until(() => shown(conversationId).length === 1);
      aWs.send({ type: 'typing', conversationId, typing: false });
      await bWs.until(() => shown(conversationId).length === 2);
      aWs.send({ type: 'typing', conversationId });
    }
    await bWs.until(() => shown(small).length === 3);
    assert.deepEqual(shown(small), [true, false, true], 'a small conversation shows a restart at once');
    // A message in the big group: a forwarded restart would have arrived before it.
    aWs.send({ type: 'send', ref: 'm', conversationId: big, clientMsgId: 'm1', text: 'fence' });
    await bWs.next((f) => f.type === 'event' && f.conversationId === big && f.event.type === 'MessageSent');
    assert.deepEqual(shown(big), [true, false], 'the restart waits for the throttle');
  });

  it('refuses typing and read frames for conversations the user is not in, and appends nothing', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const stranger = await t.api.user('s');
    const c = await t.api.direct(a, b);
    const bWs = await t.connect(b.token);
    const sWs = await t.connect(stranger.token);
    const head = await t.server.store.headPosition();
    sWs.send({ type: 'typing', ref: 't', conversationId: c });
    assert.deepEqual(await sWs.next((f) => f.ref === 't'), {
      type: 'error',
      ref: 't',
      code: 'not_a_member',
      message: 'you are not a member of this conversation',
    });
    sWs.send({ type: 'read', ref: 'r', conversationId: c, upToSeq: 0 });
    assert.equal((await sWs.next((f) => f.ref === 'r')).code, 'not_a_member');
    sWs.send({ type: 'typing', ref: 'u', conversationId: 'no-such-conversation' });
    assert.equal((await sWs.next((f) => f.ref === 'u')).code, 'not_found');
    sWs.send({ type: 'typing', ref: 'v', conversationId: c, typing: 'yes' });
    assert.equal((await sWs.next((f) => f.ref === 'v')).code, 'validation_failed');
    await bWs.fence();
    assert.equal(typingFrames(bWs, stranger.userId).length, 0);
    assert.equal(await t.server.store.headPosition(), head);
  });
});

describe('typing indicators that expire', () => {
  const TTL_MS = 500;
  const t = suiteServer({ TYPING_TTL_MS: String(TTL_MS), TYPING_THROTTLE_MS: '100' });

  it('expire when not renewed', async () => {
    const { a, c, aWs, bWs } = await connectedPair(t);
    aWs.send({ type: 'typing', conversationId: c });
    assert.equal((await bWs.next((f) => f.type === 'typing' && f.typing)).expiresInMs, TTL_MS);
    const expired = await bWs.next((f) => f.type === 'typing' && !f.typing);
    assert.deepEqual(expired, { type: 'typing', conversationId: c, userId: a.userId, typing: false });
    typingFrame.parse(expired);
  });

  it('a sent message ends the indicator without another frame', async () => {
    const { a, b, c, aWs, bWs } = await connectedPair(t);
    const later = await t.api.group(a, [b], 'typed in afterwards');
    aWs.send({ type: 'typing', conversationId: c });
    await bWs.next((f) => f.type === 'typing' && f.conversationId === c);
    aWs.send({ type: 'send', ref: 'm', conversationId: c, clientMsgId: 'm1', text: 'done typing' });
    await bWs.next((f) => f.type === 'event' && f.event.type === 'MessageSent');
    // Expiry timers of one length fire in the order they were set: once the later indicator has
    // expired, the first one's TTL is over too, and any frame it caused has arrived.
    aWs.send({ type: 'typing', conversationId: later });
    await bWs.next((f) => f.type === 'typing' && f.conversationId === later && !f.typing);
    assert.deepEqual(
      typingFrames(bWs, a.userId, c).map((f) => f.typing),
      [true],
      'the MessageSent ends the indicator for the receiver',
    );
  });
});
