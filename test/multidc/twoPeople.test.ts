import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import { WsClient } from '../support/client.js';
import { multiDcSuite } from '../support/multidc.js';
import { eventually } from '../support/waits.js';
import { converge, readModelMismatches } from './checks.js';
import { createConversation, known, register, type Conversation, type Person } from './workload.js';

const PULL_THRESHOLD = 500;

/** The HTTP answer to a WebSocket upgrade the server refuses (rejects if it accepts). */
function refusedUpgrade(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      socket.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('error', () => undefined);
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
  });
}

describe('two people, two datacenters', () => {
  const suite = multiDcSuite({ env: { PRESENCE_NOTIFY_INTERVAL_MS: '0', INBOX_PULL_THRESHOLD: String(PULL_THRESHOLD) } });
  const sockets: WsClient[] = [];
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let direct: Conversation;
  let group: Conversation;
  let aliceWs: WsClient;
  let bobWs: WsClient;

  const connect = async (person: Person) => {
    const ws = await WsClient.connect(suite.stack.dc[person.dc].wsUrl, person.token);
    sockets.push(ws);
    return ws;
  };
  const api = (person: Person) => suite.stack.dc[person.dc].api;
  const conversationIn = async (person: Person, conversationId: string) => {
    const res = await api(person).request('GET', '/v1/conversations', { token: person.token });
    return res.body?.items?.find((c: { conversationId: string }) => c.conversationId === conversationId);
  };
  const eventAt = (ws: WsClient, conversationId: string, seq: number) =>
    ws.next((f) => f.type === 'event' && f.conversationId === conversationId && f.seq === seq);

  after(async () => {
    await Promise.all(sockets.map((s) => s.close()));
  });

  it('alice registered at dc1 and bob at dc2 find each other by username, each at their own DC', async () => {
    alice = await register(suite.stack, 'dc1', 'alice');
    bob = await register(suite.stack, 'dc2', 'bob');
    carol = await register(suite.stack, 'dc1', 'carol');
    await known(suite.stack, 'dc1', bob);
    await known(suite.stack, 'dc2', alice);
    const found = await api(alice).request('GET', `/v1/users?username=${bob.username}`, { token: alice.token });
    assert.deepEqual({ status: found.status, userId: found.body.userId }, { status: 200, userId: bob.userId });
  });

  it('logging in at the wrong DC answers 409 wrong_dc with the home DC and its address, for REST and WebSocket', async () => {
    const { dc } = suite.stack;
    const login = await dc.dc2.api.request('POST', '/v1/sessions', { body: { username: alice.username, password: 'correct horse' } });
    assert.equal(login.status, 409);
    assert.equal(login.body.error.code, 'wrong_dc');
    assert.equal(login.body.error.homeDc, 'dc1');
    assert.equal(login.body.error.url, dc.dc1.url);

    const upgrade = await refusedUpgrade(`${dc.dc2.wsUrl}?token=${encodeURIComponent(alice.token)}`);
    assert.equal(upgrade.status, 409);
    const { error } = JSON.parse(upgrade.body) as { error: { code: string; homeDc: string; url: string } };
    assert.deepEqual([error.code, error.homeDc, error.url], ['wrong_dc', 'dc1', dc.dc1.url]);
  });

  it('they chat through their own DCs, over REST and WebSocket, and each gets the other\'s messages live at the same seq', async () => {
    direct = await createConversation(suite.stack, alice, [bob]);
    await known(suite.stack, 'dc2', alice);
    bobWs = await connect(bob);
    await eventually('the conversation in bob\'s list at dc2', () => conversationIn(bob, direct.conversationId), Boolean);
    // Presence goes to contacts: alice comes online once dc2 knows bob is hers.
    aliceWs = await connect(alice);

    const sent = await api(alice).send(alice, direct.conversationId, 'hi bob, from dc1');
    assert.equal(sent.status, 201);
    const atBob = await eventAt(bobWs, direct.conversationId, sent.body.seq);
    assert.equal(atBob.event.data.messageId, sent.body.messageId);

    const ref = randomUUID();
    bobWs.send({ type: 'send', ref, conversationId: direct.conversationId, clientMsgId: randomUUID(), text: 'hi alice, from dc2' });
    const ack = await bobWs.next((f) => f.ref === ref);
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    const atAlice = await eventAt(aliceWs, direct.conversationId, ack.seq);
    assert.equal(atAlice.event.data.messageId, ack.messageId);
    assert.ok(ack.seq > sent.body.seq);
  });

  it('unread counts are right in each DC, and read markers cross', async () => {
    const second = await api(alice).send(alice, direct.conversationId, 'are you there?');
    await eventAt(bobWs, direct.conversationId, second.body.seq);
    // Sending reads the conversation up to one's own message: bob has read up to his reply.
    const bobsView = await eventually('one unread at dc2', () => conversationIn(bob, direct.conversationId), (c) => c?.unreadCount === 1);
    assert.equal(bobsView.lastSeq, second.body.seq);
    const alicesView = await eventually('nothing unread at dc1', () => conversationIn(alice, direct.conversationId), (c) => c?.lastSeq === second.body.seq);
    assert.equal(alicesView.unreadCount, 0);

    const read = await api(bob).request('POST', `/v1/conversations/${direct.conversationId}/read`, { token: bob.token, body: { upToSeq: second.body.seq } });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.equal(read.body.unreadCount, 0);
    const marker = await aliceWs.next((f) => f.type === 'event' && f.conversationId === direct.conversationId && f.event.type === 'MessageRead');
    assert.deepEqual([marker.event.data.userId, marker.event.data.upToSeq], [bob.userId, second.body.seq]);
  });

  it('typing crosses DCs', async () => {
    bobWs.send({ type: 'typing', conversationId: direct.conversationId, typing: true });
    const typing = await aliceWs.next((f) => f.type === 'typing' && f.userId === bob.userId);
    assert.deepEqual([typing.conversationId, typing.typing], [direct.conversationId, true]);
  });

  it('presence crosses DCs: online while a socket is open at the home DC, offline after it closes', async () => {
    const onlineFrame = await bobWs.next((f) => f.type === 'presence' && f.userId === alice.userId && f.online === true);
    assert.equal(onlineFrame.online, true);
    const seenFromDc2 = await api(bob).request('GET', `/v1/users/${alice.userId}/presence`, { token: bob.token });
    assert.deepEqual([seenFromDc2.status, seenFromDc2.body.online], [200, true]);

    await aliceWs.close();
    await bobWs.next((f) => f.type === 'presence' && f.userId === alice.userId && f.online === false);
    const afterClose = await api(bob).request('GET', `/v1/users/${alice.userId}/presence`, { token: bob.token });
    assert.equal(afterClose.body.online, false);
    aliceWs = await connect(alice);
  });

  it('a group homed in dc2 with members homed in both DCs works the same', async () => {
    await known(suite.stack, 'dc2', carol);
    group = await createConversation(suite.stack, bob, [alice, carol], 'both DCs');
    const carolWs = await connect(carol);
    await eventually('the group in carol\'s list at dc1', () => conversationIn(carol, group.conversationId), Boolean);

    const bySender: [Person, string][] = [
      [alice, 'from alice at dc1'],
      [bob, 'from bob at dc2'],
      [carol, 'from carol at dc1'],
    ];
    const seqs: number[] = [];
    for (const [sender, text] of bySender) {
      const res = await api(sender).send(sender, group.conversationId, text);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      seqs.push(res.body.seq);
    }
    for (const ws of [aliceWs, bobWs, carolWs]) {
      for (const seq of seqs) await eventAt(ws, group.conversationId, seq);
    }
    const inbox = (person: Person, unread: number) =>
      eventually(`${person.name}'s unread count at ${person.dc}`, () => conversationIn(person, group.conversationId), (c) => c?.unreadCount === unread);
    // Sending reads the conversation up to one's own message: alice has bob's and carol's unread, bob carol's.
    await Promise.all([inbox(alice, 2), inbox(bob, 1), inbox(carol, 0)]);
  });

  it('alice erases her account at dc1, and dc2 forgets her too: bob reads nothing of hers there', async () => {
    const erased = await api(alice).request('DELETE', '/v1/me', { token: alice.token, body: { password: 'correct horse' } });
    assert.equal(erased.status, 200, JSON.stringify(erased.body));
    const history = async (conversationId: string) =>
      (await api(bob).request('GET', `/v1/conversations/${conversationId}/messages?limit=100`, { token: bob.token })).body.items as { senderId: string; erased?: true }[];
    for (const { conversationId } of [direct, group]) {
      const items = await eventually(`alice's messages erased in bob's history at dc2`, () => history(conversationId), (items) =>
        items.filter((m) => m.senderId === alice.userId).every((m) => m.erased === true),
      );
      assert.ok(items.some((m) => m.senderId === alice.userId));
      assert.ok(items.some((m) => m.senderId === bob.userId && !m.erased), "bob's own messages stay");
      assert.equal(/from dc1|from alice/.test(JSON.stringify(items)), false);
    }
    const profile = await api(bob).request('GET', `/v1/users/${alice.userId}`, { token: bob.token });
    assert.deepEqual([profile.body.erased, profile.body.username], [true, '']);
  });

  it('afterwards both DCs hold the same streams, and each DC\'s read models equal a rebuild from its own store', async () => {
    assert.deepEqual(await converge(suite.stack), []);
    assert.deepEqual(await readModelMismatches(suite.stack, PULL_THRESHOLD), []);
  });
});
