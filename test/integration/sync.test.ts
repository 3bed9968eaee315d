import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { eventFrame, syncedFrame } from '../../src/gateway/frames.js';
import type { WsClient } from '../support/client.js';
import { suiteServer } from '../support/suite.js';

/** Sends a sync and waits for the frame that ends it; answers that frame and the events replayed before it. */
async function sync(ws: WsClient, frame: { afterUserSeq?: number; conversations?: Record<string, number> }) {
  const ref = `sync-${randomUUID()}`;
  const from = ws.frames.length;
  ws.send({ type: 'sync', ref, ...frame });
  const end = await ws.next((f) => f.ref === ref && (f.type === 'synced' || f.type === 'error'));
  const replayed = ws.frames.slice(from, ws.frames.indexOf(end)).filter((f) => f.type === 'event').map((f) => eventFrame.parse(f));
  return { end, replayed };
}

const seqsOf = (events: { conversationId: string; seq: number }[], conversationId: string) =>
  events.filter((e) => e.conversationId === conversationId).map((e) => e.seq);
const upTo = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);

describe('WebSocket sync: every missed event once, in order', () => {
  // Groups above two members are pull mode: their messages are not in the members' inboxes.
  const t = suiteServer({ INBOX_PULL_THRESHOLD: '2' });

  it('replays each event once, seqs ascending per conversation, when both afterUserSeq and conversations are given', async () => {
    const alice = await t.api.user('alice');
    const bob = await t.api.user('bob');
    const carol = await t.api.user('carol');
    const named = await t.api.direct(alice, bob);
    const unnamed = await t.api.direct(bob, carol);
    const pull = await t.api.group(alice, [bob, carol], 'big enough to pull');
    await t.api.send(alice, named, 'one');
    await t.api.send(alice, named, 'two');
    await t.api.send(carol, unnamed, 'hi bob');
    await t.api.send(alice, pull, 'first');
    // bob's own read marker is the one event of the pull-mode group in his inbox (besides its creation).
    assert.equal((await t.api.request('POST', `/v1/conversations/${pull}/read`, { token: bob.token, body: { upToSeq: 1 } })).status, 200);
    await t.api.send(alice, pull, 'second');

    const ws = await t.connect(bob.token);
    const { end, replayed } = await sync(ws, { afterUserSeq: 0, conversations: { [named]: 0, [pull]: 0 } });
    const synced = syncedFrame.parse(end);
    assert.deepEqual(seqsOf(replayed, named), [1, 2], 'named: from its stream after seq 0, not again from the inbox');
    const pullLastSeq = (await t.api.request('GET', `/v1/conversations/${pull}`, { token: bob.token })).body.lastSeq;
    assert.deepEqual(seqsOf(replayed, pull), upTo(1, pullLastSeq), 'pull mode: gap-free from its stream, the read marker once');
    assert.deepEqual(seqsOf(replayed, unnamed), [0, 1], 'not named: from the inbox');
    assert.ok(replayed.filter((e) => e.conversationId === unnamed).every((e) => e.userSeq !== undefined));
    assert.equal(synced.replayed, replayed.length);
    assert.equal(synced.complete, true);
    assert.deepEqual(synced.skipped, []);
    const inbox = await t.api.request('GET', '/v1/sync?afterUserSeq=0&limit=100', { token: bob.token });
    assert.equal(synced.nextUserSeq, inbox.body.nextUserSeq, 'the whole inbox was gone through');

    // Live events follow the replay, once: a message sent now arrives after synced, with the next seq.
    await t.api.send(alice, named, 'three');
    await ws.next((f) => f.type === 'event' && f.conversationId === named && f.seq === 3);
    assert.deepEqual(seqsOf(ws.events(), named), [1, 2, 3]);
  });

  it('answers no inbox position to a sync by conversations alone, so a stored one never moves back', async () => {
    const alice = await t.api.user('alice');
    const bob = await t.api.user('bob');
    const c = await t.api.direct(alice, bob);
    await t.api.send(alice, c, 'one');
    const ws = await t.connect(bob.token);
    const first = syncedFrame.parse((await sync(ws, { afterUserSeq: 0 })).end);
    assert.ok(first.nextUserSeq! > 0);

    await t.api.send(alice, c, 'two');
    await ws.next((f) => f.type === 'event' && f.conversationId === c && f.seq === 2);
    const { end, replayed } = await sync(ws, { conversations: { [c]: 2 } });
    const second = syncedFrame.parse(end);
    assert.equal('nextUserSeq' in second, false, 'no position: the client keeps the one it has');
    assert.deepEqual(seqsOf(replayed, c), [], 'the client already has seq 2');

    const third = syncedFrame.parse((await sync(ws, { afterUserSeq: first.nextUserSeq! })).end);
    assert.ok(third.nextUserSeq! > first.nextUserSeq!, 'by userSeq, the position moves forward');
    const beyond = syncedFrame.parse((await sync(ws, { afterUserSeq: third.nextUserSeq! + 50 })).end);
    assert.equal(beyond.nextUserSeq, third.nextUserSeq! + 50, 'never below what the client sent');
  });

  it('never repeats or steps back over live events that reached the socket before the sync', async () => {
    const alice = await t.api.user('alice');
    const bob = await t.api.user('bob');
    const c = await t.api.direct(alice, bob);
    await t.api.send(alice, c, 'missed while away');
    const ws = await t.connect(bob.token);
    await t.api.send(alice, c, 'live before the sync');
    await ws.next((f) => f.type === 'event' && f.conversationId === c && f.seq === 2);

    const { end, replayed } = await sync(ws, { afterUserSeq: 0 });
    assert.deepEqual(seqsOf(replayed, c), [], 'seqs 0 and 1 would step back behind the live seq 2, and 2 is there already');
    assert.equal(syncedFrame.parse(end).replayed, 0, 'synced counts what went out');
    await t.api.send(alice, c, 'after the sync');
    await ws.next((f) => f.type === 'event' && f.conversationId === c && f.seq === 3);
    assert.deepEqual(seqsOf(ws.events(), c), [2, 3], 'once each, ascending; the client fills 0..1 from GET .../events');
  });

  it('skips a conversation the user may not read, names it in synced, and replays nothing of it', async () => {
    const alice = await t.api.user('alice');
    const bob = await t.api.user('bob');
    const eve = await t.api.user('eve');
    const mine = await t.api.direct(alice, bob);
    const theirs = await t.api.direct(alice, eve);
    await t.api.send(alice, mine, 'for bob');
    await t.api.send(alice, theirs, 'not for bob');
    const unknown = randomUUID();

    const ws = await t.connect(bob.token);
    const { end, replayed } = await sync(ws, { afterUserSeq: 0, conversations: { [theirs]: 0, [unknown]: 0, [mine]: 0 } });
    assert.equal(end.type, 'synced', JSON.stringify(end));
    const synced = syncedFrame.parse(end);
    assert.deepEqual(synced.skipped, [
      { conversationId: theirs, code: 'not_a_member' },
      { conversationId: unknown, code: 'not_found' },
    ]);
    assert.equal(synced.complete, true);
    assert.deepEqual(seqsOf(replayed, mine), [1]);
    assert.deepEqual(seqsOf(replayed, theirs), []);
    assert.equal(JSON.stringify(ws.frames).includes('not for bob'), false);
  });
});
