import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { suiteServer } from '../support/suite.js';

describe('delete for me', () => {
  const t = suiteServer();

  /** alice and bob chat; bob has not read any of it. */
  async function chat(texts: string[]) {
    const alice = await t.api.user('alice');
    const bob = await t.api.user('bob');
    const c = await t.api.direct(alice, bob);
    const seqs: number[] = [];
    for (const text of texts) seqs.push((await t.api.send(alice, c, text)).body.seq);
    return { alice, bob, c, seqs };
  }

  const history = async (user: { token: string }, c: string, query = '') =>
    (await t.api.request('GET', `/v1/conversations/${c}/messages${query}`, { token: user.token })).body.items.map((m: any) => m.text);
  const listItem = async (user: { token: string }, c: string) =>
    (await t.api.request('GET', '/v1/conversations', { token: user.token })).body.items.find((i: any) => i.conversationId === c);

  it('a hidden message leaves my history, my unread count and my timeline; the other member sees no change', async () => {
    const { alice, bob, c, seqs } = await chat(['one', 'secret', 'three']);
    const hide = await t.api.request('POST', `/v1/conversations/${c}/hidden`, { token: bob.token, body: { seqs: [seqs[1]] } });
    assert.equal(hide.status, 200, JSON.stringify(hide.body));
    assert.deepEqual(hide.body, { conversationId: c, clearedUpToSeq: -1, hiddenSeqs: [seqs[1]], removedUpToSeq: -1 });

    assert.deepEqual(await history(bob, c), ['one', 'three']);
    assert.deepEqual(await history(bob, c, `?beforeSeq=${seqs[2]! + 1}&limit=2`), ['one', 'three'], 'a page backwards skips it too');
    assert.equal((await listItem(bob, c)).unreadCount, 2);
    const timeline = (await t.api.request('GET', `/v1/conversations/${c}/events`, { token: bob.token })).body.items;
    const sent = timeline.find((e: any) => e.seq === seqs[1]);
    assert.deepEqual([sent.type, sent.data.text, sent.data.hidden], ['MessageSent', null, true], 'it keeps its place, gap-free');
    assert.equal(JSON.stringify(timeline).includes('secret'), false);

    assert.deepEqual(await history(alice, c), ['one', 'secret', 'three']);
    assert.equal(JSON.stringify((await t.api.request('GET', '/v1/sync?afterUserSeq=0', { token: alice.token })).body).includes('MessagesHidden'), false);
  });

  it('REST sync carries the hiding to my other devices, and the inbox copy of the message without its text', async () => {
    const { bob, c, seqs } = await chat(['secret']);
    await t.api.request('POST', `/v1/conversations/${c}/hidden`, { token: bob.token, body: { seqs } });
    const items = (await t.api.request('GET', '/v1/sync?afterUserSeq=0', { token: bob.token })).body.items;
    const hidden = items.find((i: any) => i.type === 'MessagesHidden');
    assert.deepEqual([hidden.stream, hidden.conversationId, hidden.data.seqs], ['user', c, seqs]);
    assert.equal(JSON.stringify(items).includes('secret'), false);
  });

  it('my other device online gets it live, and a WebSocket sync replays it', async () => {
    const { bob, c, seqs } = await chat(['secret', 'fine']);
    const phone = await t.connect(bob.token);
    await t.api.request('POST', `/v1/conversations/${c}/hidden`, { token: bob.token, body: { seqs: [seqs[0]] } });
    const live = await phone.next((f) => f.type === 'event' && f.stream === 'user');
    assert.deepEqual([live.conversationId, live.event.type, live.event.data.seqs], [c, 'MessagesHidden', [seqs[0]]]);

    const laptop = await t.connect(bob.token);
    laptop.send({ type: 'sync', ref: 's', afterUserSeq: 0 });
    await laptop.next((f) => f.type === 'synced' && f.ref === 's');
    assert.ok(laptop.events(c).some((f) => f.stream === 'user' && f.event.type === 'MessagesHidden'));
    assert.equal(JSON.stringify(laptop.frames).includes('secret'), false);
  });

  it('clearing the history up to a seq hides everything up to it for me only, and nothing of it stays unread', async () => {
    const { alice, bob, c, seqs } = await chat(['one', 'two', 'three']);
    const clear = await t.api.request('POST', `/v1/conversations/${c}/clear`, { token: bob.token, body: { upToSeq: seqs[1] } });
    assert.equal(clear.status, 200, JSON.stringify(clear.body));
    assert.equal(clear.body.clearedUpToSeq, seqs[1]);
    assert.deepEqual(await history(bob, c), ['three']);
    assert.equal((await listItem(bob, c)).unreadCount, 1);
    assert.deepEqual(await history(alice, c), ['one', 'two', 'three']);
    const beyond = await t.api.request('POST', `/v1/conversations/${c}/clear`, { token: bob.token, body: { upToSeq: seqs[2]! + 5 } });
    assert.equal(beyond.status, 400);
  });

  it('refuses to hide what is not a message I can see', async () => {
    const { c, seqs } = await chat(['one']);
    const stranger = await t.api.user('eve');
    assert.equal((await t.api.request('POST', `/v1/conversations/${c}/hidden`, { token: stranger.token, body: { seqs } })).status, 403);
    const { bob } = await chat([]);
    const other = await chat(['x']);
    const notMessage = await t.api.request('POST', `/v1/conversations/${other.c}/hidden`, { token: other.bob.token, body: { seqs: [0] } });
    assert.equal(notMessage.status, 400, 'seq 0 is the creation');
    assert.equal((await t.api.request('POST', `/v1/conversations/${c}/hidden`, { token: bob.token, body: { seqs } })).status, 403);
  });
});

describe('deleting conversations', () => {
  const t = suiteServer();
  const list = async (user: { token: string }) =>
    (await t.api.request('GET', '/v1/conversations', { token: user.token })).body.items.map((i: any) => i.conversationId);

  it('a direct conversation deleted for me leaves my list and history, and comes back with the next message alone', async () => {
    const alice = await t.api.user('alice');
    const bob = await t.api.user('bob');
    const c = await t.api.direct(alice, bob);
    await t.api.send(alice, c, 'old');
    const deleted = await t.api.request('DELETE', `/v1/me/conversations/${c}`, { token: bob.token });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.equal((await list(bob)).includes(c), false);
    assert.equal((await list(alice)).includes(c), true, 'alice still has it');

    await t.api.send(alice, c, 'new');
    assert.equal((await list(bob)).includes(c), true);
    const messages = (await t.api.request('GET', `/v1/conversations/${c}/messages`, { token: bob.token })).body.items;
    assert.deepEqual(messages.map((m: any) => m.text), ['new']);
    const item = (await t.api.request('GET', '/v1/conversations', { token: bob.token })).body.items.find((i: any) => i.conversationId === c);
    assert.equal(item.unreadCount, 1);
  });

  it('leaving a group clears my badge; I may then delete it from my list, and not before', async () => {
    const owner = await t.api.user('owner');
    const bob = await t.api.user('bob');
    const g = await t.api.group(owner, [bob]);
    await t.api.send(owner, g, 'unread');
    assert.equal((await t.api.request('DELETE', `/v1/me/conversations/${g}`, { token: bob.token })).status, 409);
    await t.api.request('DELETE', `/v1/conversations/${g}/members/${bob.userId}`, { token: bob.token });
    const left = (await t.api.request('GET', '/v1/conversations', { token: bob.token })).body.items.find((i: any) => i.conversationId === g);
    assert.equal(left.unreadCount, 0);
    assert.equal((await t.api.request('DELETE', `/v1/me/conversations/${g}`, { token: bob.token })).status, 200);
    assert.equal((await list(bob)).includes(g), false);
    await t.api.send(owner, g, 'after I left');
    assert.equal((await list(bob)).includes(g), false, 'a group I left never comes back');
  });

  it('the owner deletes a group for everyone: members are told, it leaves every list and nothing more happens in it', async () => {
    const owner = await t.api.user('owner');
    const bob = await t.api.user('bob');
    const g = await t.api.group(owner, [bob]);
    await t.api.send(owner, g, 'hi');
    assert.equal((await t.api.request('DELETE', `/v1/conversations/${g}`, { token: bob.token })).status, 403);
    const ws = await t.connect(bob.token);
    const deleted = await t.api.request('DELETE', `/v1/conversations/${g}`, { token: owner.token });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    const told = await ws.next((f) => f.type === 'event' && f.event.type === 'ConversationDeleted');
    assert.deepEqual([told.conversationId, told.seq, told.event.data.deletedBy], [g, deleted.body.deletedSeq, owner.userId]);

    assert.equal((await list(bob)).includes(g), false);
    assert.equal((await list(owner)).includes(g), false);
    assert.equal((await t.api.request('GET', `/v1/conversations/${g}/messages`, { token: bob.token })).status, 404);
    assert.equal((await t.api.send(owner, g, 'anyone?')).status, 404);
    const sync = (await t.api.request('GET', '/v1/sync?afterUserSeq=0', { token: bob.token })).body.items;
    assert.ok(sync.some((i: any) => i.conversationId === g && i.type === 'ConversationDeleted'), 'the inbox tells a device that was away');
  });

  it('a direct conversation is not deleted for everyone', async () => {
    const alice = await t.api.user('alice');
    const bob = await t.api.user('bob');
    const c = await t.api.direct(alice, bob);
    assert.equal((await t.api.request('DELETE', `/v1/conversations/${c}`, { token: alice.token })).status, 403);
  });
});
