import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { typingFrame } from '../../src/gateway/frames.js';
import type { WsClient } from '../support/client.js';
import { suiteServer } from '../support/suite.js';

const TTL_MS = 500;
const THROTTLE_MS = 300;

describe('typing indicators', () => {
  const t = suiteServer({ TYPING_TTL_MS: String(TTL_MS), TYPING_THROTTLE_MS: String(THROTTLE_MS), INBOX_PULL_THRESHOLD: '3' });
  const typingFrames = (ws: WsClient, userId: string) => ws.frames.filter((f) => f.type === 'typing' && f.userId === userId);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
      assert.deepEqual(frame, { type: 'typing', conversationId: c, userId: a.userId, typing: true, expiresInMs: TTL_MS });
      typingFrame.parse(frame);
    }
    await pause(50);
    assert.equal(typingFrames(aLaptop, a.userId).length, 0, "the typist's other devices");
    assert.equal(typingFrames(aPhone, a.userId).length, 0);
    assert.equal(typingFrames(sWs, a.userId).length, 0);
    assert.equal(await t.server.store.headPosition(), head, 'typing appends no event');
  });

  it('expires when not renewed, and stops at once on typing:false', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const c = await t.api.direct(a, b);
    const aWs = await t.connect(a.token);
    const bWs = await t.connect(b.token);
    const startedAt = Date.now();
    aWs.send({ type: 'typing', conversationId: c });
    await bWs.next((f) => f.type === 'typing' && f.typing);
    const expired = await bWs.next((f) => f.type === 'typing' && !f.typing, 3000);
    assert.deepEqual(expired, { type: 'typing', conversationId: c, userId: a.userId, typing: false });
    typingFrame.parse(expired);
    assert.ok(Date.now() - startedAt >= TTL_MS - 20, 'not before the TTL');

    aWs.send({ type: 'typing', conversationId: c });
    await bWs.until((f) => typingFrames(bWs, a.userId).length === 3);
    const stoppedAt = Date.now();
    aWs.send({ type: 'typing', conversationId: c, typing: false });
    await bWs.until(() => typingFrames(bWs, a.userId).length === 4);
    assert.equal(typingFrames(bWs, a.userId)[3].typing, false);
    assert.ok(Date.now() - stoppedAt < TTL_MS, 'a stop does not wait for the TTL');
    await pause(TTL_MS + 100);
    assert.equal(typingFrames(bWs, a.userId).length, 4, 'nothing more after a stop');
  });

  it('stays on while renewed, and a sent message ends it without another frame', async () => {
    const a = await t.api.user('a');
    const b = await t.api.user('b');
    const c = await t.api.direct(a, b);
    const aWs = await t.connect(a.token);
    const bWs = await t.connect(b.token);
    for (let i = 0; i < 4; i++) {
      aWs.send({ type: 'typing', conversationId: c });
      await pause(TTL_MS / 2);
    }
    assert.ok(typingFrames(bWs, a.userId).every((f) => f.typing), 'renewed before each expiry');
    aWs.send({ type: 'send', ref: 'm', conversationId: c, clientMsgId: 'm1', text: 'done typing' });
    await bWs.next((f) => f.type === 'event' && f.event.type === 'MessageSent');
    const before = typingFrames(bWs, a.userId).length;
    await pause(TTL_MS + 150);
    assert.equal(typingFrames(bWs, a.userId).length, before, 'the MessageSent ends the indicator for the receiver');
  });

  it('is throttled per sender in groups above the inbox threshold', async () => {
    const [a, b, c, d] = [await t.api.user('a'), await t.api.user('b'), await t.api.user('c'), await t.api.user('d')];
    const big = await t.api.group(a, [b, c, d], 'four members, threshold 3');
    const small = await t.api.group(a, [b], 'two members');
    const aWs = await t.connect(a.token);
    const bWs = await t.connect(b.token);
    const frames = (conversationId: string) => typingFrames(bWs, a.userId).filter((f) => f.conversationId === conversationId && f.typing);
    for (let i = 0; i < 10; i++) {
      aWs.send({ type: 'typing', conversationId: big });
      aWs.send({ type: 'typing', conversationId: small });
      await pause(30);
    }
    await pause(50);
    // 10 frames over ~300 ms: the big group gets the first, the small one the start and no renewal under a second.
    assert.ok(frames(big).length <= 2, `big group got ${frames(big).length}`);
    assert.equal(frames(small).length, 1);
    await pause(THROTTLE_MS);
    aWs.send({ type: 'typing', conversationId: big });
    await bWs.until(() => frames(big).length >= 2);
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
    await pause(50);
    assert.equal(typingFrames(bWs, stranger.userId).length, 0);
    assert.equal(await t.server.store.headPosition(), head);
  });
});
