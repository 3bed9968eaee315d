import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('REST API (embedded profile)', () => {
  let server: TestServer;
  let api: ApiClient;
  before(async () => {
    server = await startTestServer();
    api = new ApiClient(server.url);
  });
  after(async () => server.stop());

  /** Asserts the request was refused and the event store did not grow. */
  const refusedWithoutAppend = async (status: number, call: () => Promise<{ status: number; body: any }>) => {
    const head = await server.store.headPosition();
    const res = await call();
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(typeof res.body.error.code, 'string');
    assert.equal(typeof res.body.error.message, 'string');
    assert.equal(await server.store.headPosition(), head, 'a rejected request appended events');
    return res.body.error;
  };

  describe('users and sessions', () => {
    it('registers, refuses a taken username (any case) and logs in', async () => {
      const reg = await api.request('POST', '/v1/users', { body: { username: 'Carol_1', password: 'long enough', displayName: 'Carol' } });
      assert.equal(reg.status, 201);
      assert.deepEqual(Object.keys(reg.body).sort(), ['displayName', 'userId', 'username']);
      const taken = await refusedWithoutAppend(409, () =>
        api.request('POST', '/v1/users', { body: { username: 'carol_1', password: 'another one' } }),
      );
      assert.equal(taken.code, 'username_taken');
      const login = await api.request('POST', '/v1/sessions', { body: { username: 'Carol_1', password: 'long enough' } });
      assert.equal(login.status, 201);
      assert.equal(login.body.userId, reg.body.userId);
      assert.match(login.body.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    });

    it('answers 400 with the zod issues for a bad registration', async () => {
      const error = await refusedWithoutAppend(400, () =>
        api.request('POST', '/v1/users', { body: { username: 'x', password: 'short', extra: 1 } }),
      );
      assert.equal(error.code, 'validation_failed');
      assert.ok(Array.isArray(error.issues) && error.issues.length >= 1);
    });

    it('refuses wrong passwords and unknown users alike with 401', async () => {
      const u = await api.user('dave');
      const wrong = await api.request('POST', '/v1/sessions', { body: { username: u.username, password: 'not it at all' } });
      const unknown = await api.request('POST', '/v1/sessions', { body: { username: 'nobody_here', password: 'whatever1' } });
      assert.equal(wrong.status, 401);
      assert.equal(unknown.status, 401);
      assert.equal(wrong.body.error.message, unknown.body.error.message);
    });

    it('requires a valid bearer token', async () => {
      assert.equal((await api.request('GET', '/v1/conversations')).status, 401);
      assert.equal((await api.request('GET', '/v1/conversations', { token: 'not.a.token' })).status, 401);
    });

    it('finds a user by username', async () => {
      const a = await api.user('erin');
      const b = await api.user('frank');
      const found = await api.request('GET', `/v1/users?username=${b.username}`, { token: a.token });
      assert.equal(found.status, 200);
      assert.equal(found.body.userId, b.userId);
      assert.equal((await api.request('GET', '/v1/users?username=missing_user', { token: a.token })).status, 404);
    });
  });

  describe('conversations and messages', () => {
    it('a direct conversation is unique per pair, whoever creates it', async () => {
      const a = await api.user('a');
      const b = await api.user('b');
      const first = await api.request('POST', '/v1/conversations', { token: a.token, body: { kind: 'direct', memberId: b.userId } });
      assert.equal(first.status, 201);
      const again = await api.request('POST', '/v1/conversations', { token: b.token, body: { kind: 'direct', memberId: a.userId } });
      assert.equal(again.status, 200);
      assert.equal(again.body.conversationId, first.body.conversationId);
      assert.deepEqual(first.body.members.map((m: any) => m.userId).sort(), [a.userId, b.userId].sort());
      await refusedWithoutAppend(400, () => api.request('POST', '/v1/conversations', { token: a.token, body: { kind: 'direct', memberId: a.userId } }));
      await refusedWithoutAppend(404, () => api.request('POST', '/v1/conversations', { token: a.token, body: { kind: 'direct', memberId: 'no-such-user' } }));
    });

    it('assigns gap-free seqs and treats a retried clientMsgId as the same message', async () => {
      const a = await api.user('a');
      const b = await api.user('b');
      const c = await api.direct(a, b);
      const seqs = [];
      for (let i = 0; i < 5; i++) seqs.push((await api.send(i % 2 ? b : a, c, `m${i}`)).body.seq);
      assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
      const first = await api.send(a, c, 'hello', 'client-1');
      assert.equal(first.status, 201);
      const head = await server.store.headPosition();
      const retry = await api.send(a, c, 'hello', 'client-1');
      assert.equal(retry.status, 200);
      assert.deepEqual(retry.body, first.body);
      assert.equal(await server.store.headPosition(), head);
      const events = await api.request('GET', `/v1/conversations/${c}/events`, { token: a.token });
      assert.deepEqual(events.body.items.map((e: any) => e.seq), [0, 1, 2, 3, 4, 5, 6]);
      assert.equal(events.body.items[0].type, 'ConversationCreated');
    });

    it('sends of many concurrent requests get distinct consecutive seqs', async () => {
      const a = await api.user('a');
      const b = await api.user('b');
      const c = await api.direct(a, b);
      const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => api.send(i % 2 ? a : b, c, `m${i}`)));
      const seqs = replies.map((r) => r.body.seq).sort((x, y) => x - y);
      assert.deepEqual(seqs, Array.from({ length: 40 }, (_, i) => i + 1));
    });

    it('pages history by seq in ascending order', async () => {
      const a = await api.user('a');
      const b = await api.user('b');
      const c = await api.direct(a, b);
      for (let i = 1; i <= 12; i++) await api.send(a, c, `text ${i}`);
      const get = async (q: string) => (await api.request('GET', `/v1/conversations/${c}/messages${q}`, { token: b.token })).body.items.map((m: any) => m.seq);
      assert.deepEqual(await get(''), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      assert.deepEqual(await get('?afterSeq=9'), [10, 11, 12]);
      assert.deepEqual(await get('?limit=3'), [1, 2, 3]);
      assert.deepEqual(await get('?beforeSeq=12&limit=3'), [9, 10, 11]);
      assert.deepEqual(await get('?afterSeq=2&beforeSeq=6'), [3, 4, 5]);
      const m = (await api.request('GET', `/v1/conversations/${c}/messages?afterSeq=0&limit=1`, { token: b.token })).body.items[0];
      assert.equal(m.text, 'text 1');
      assert.equal(m.senderId, a.userId);
      assert.ok(m.messageId && m.sentAt);
      for (const bad of ['?limit=0', '?limit=1000', '?afterSeq=-1', '?afterSeq=1.5', '?afterSeq=abc', '?unknown=1']) {
        assert.equal((await api.request('GET', `/v1/conversations/${c}/messages${bad}`, { token: b.token })).status, 400, bad);
      }
    });

    it('counts unread messages from others only, and read markers only move forward', async () => {
      const a = await api.user('a');
      const b = await api.user('b');
      const c = await api.direct(a, b);
      for (let i = 0; i < 3; i++) await api.send(a, c, `from a ${i}`);
      await api.send(b, c, 'from b');
      await api.send(a, c, 'from a again');
      const item = async (u: { token: string }) =>
        (await api.request('GET', '/v1/conversations', { token: u.token })).body.items.find((i: any) => i.conversationId === c);
      assert.equal((await item(a)).unreadCount, 0, 'own messages are never unread');
      assert.equal((await item(b)).unreadCount, 1, 'b replied at seq 4, so only seq 5 is unread');
      const read = await api.request('POST', `/v1/conversations/${c}/read`, { token: a.token, body: { upToSeq: 5 } });
      assert.equal(read.status, 200);
      assert.deepEqual(read.body, { readSeq: 5, unreadCount: 0 });
      const head = await server.store.headPosition();
      const backwards = await api.request('POST', `/v1/conversations/${c}/read`, { token: a.token, body: { upToSeq: 2 } });
      assert.deepEqual(backwards.body, { readSeq: 5, unreadCount: 0 });
      assert.equal(await server.store.headPosition(), head, 'a marker that does not advance appends nothing');
      await refusedWithoutAppend(400, () => api.request('POST', `/v1/conversations/${c}/read`, { token: a.token, body: { upToSeq: 999 } }));
      const bItem = await item(b);
      assert.equal(bItem.lastSeq, 5, 'a was already read up to its own message: no marker event');
      assert.equal(bItem.lastMessage.text, 'from a again');
    });

    it('lists pinned conversations first, then by latest activity, with a cursor', async () => {
      const me = await api.user('me');
      const others = await Promise.all([1, 2, 3, 4].map((i) => api.user(`o${i}`)));
      const ids = [];
      for (const o of others) ids.push(await api.direct(me, o));
      await api.send(others[1]!, ids[1]!, 'latest activity');
      const pin = await api.request('PUT', `/v1/conversations/${ids[3]}/settings`, { token: me.token, body: { pinned: true } });
      assert.equal(pin.status, 200);
      assert.equal(pin.body.pinned, true);
      const list = await api.request('GET', '/v1/conversations', { token: me.token });
      assert.deepEqual(list.body.items.map((i: any) => i.conversationId), [ids[3], ids[1], ids[2], ids[0]]);
      assert.equal(list.body.items[0].pinned, true);
      assert.equal(list.body.items[1].title, 'o2', 'a direct conversation is titled with the other member');
      const page1 = await api.request('GET', '/v1/conversations?limit=3', { token: me.token });
      assert.equal(page1.body.items.length, 3);
      assert.ok(page1.body.nextCursor);
      const page2 = await api.request('GET', `/v1/conversations?limit=3&cursor=${page1.body.nextCursor}`, { token: me.token });
      assert.deepEqual(page2.body.items.map((i: any) => i.conversationId), [ids[0]]);
      assert.equal(page2.body.nextCursor, null);
      assert.equal((await api.request('GET', '/v1/conversations?cursor=garbage', { token: me.token })).status, 400);
      await api.request('PUT', `/v1/conversations/${ids[2]}/settings`, { token: me.token, body: { archived: true, muted: true } });
      const archived = await api.request('GET', '/v1/conversations?archived=true', { token: me.token });
      assert.deepEqual(archived.body.items.map((i: any) => [i.conversationId, i.muted]), [[ids[2], true]]);
    });
  });

  describe('groups and authorization', () => {
    it('only owner and admins manage members; strangers get 403, unknown ids 404', async () => {
      const owner = await api.user('owner');
      const m1 = await api.user('m1');
      const m2 = await api.user('m2');
      const stranger = await api.user('stranger');
      const g = await api.group(owner, [m1], 'team');
      await refusedWithoutAppend(403, () => api.request('POST', `/v1/conversations/${g}/members`, { token: m1.token, body: { userId: m2.userId } }));
      await refusedWithoutAppend(403, () => api.request('GET', `/v1/conversations/${g}/messages`, { token: stranger.token }));
      await refusedWithoutAppend(403, () => api.send(stranger, g, 'let me in'));
      await refusedWithoutAppend(404, () => api.request('GET', `/v1/conversations/nope/messages`, { token: owner.token }));
      const promote = await api.request('PUT', `/v1/conversations/${g}/members/${m1.userId}/role`, { token: owner.token, body: { role: 'admin' } });
      assert.equal(promote.status, 200);
      const added = await api.request('POST', `/v1/conversations/${g}/members`, { token: m1.token, body: { userId: m2.userId } });
      assert.equal(added.status, 201);
      assert.deepEqual(added.body.members.map((m: any) => m.userId).sort(), [owner.userId, m1.userId, m2.userId].sort());
      await refusedWithoutAppend(403, () => api.request('DELETE', `/v1/conversations/${g}/members/${owner.userId}`, { token: m1.token }));
      await refusedWithoutAppend(403, () => api.request('PATCH', `/v1/conversations/${g}`, { token: m2.token, body: { title: 'mine now' } }));
      const renamed = await api.request('PATCH', `/v1/conversations/${g}`, { token: m1.token, body: { title: 'renamed' } });
      assert.equal(renamed.body.title, 'renamed');
    });

    it('a removed member sees nothing after the seq at which they left', async () => {
      const owner = await api.user('owner');
      const leaver = await api.user('leaver');
      const g = await api.group(owner, [leaver]);
      await api.send(owner, g, 'before');
      const removed = await api.request('DELETE', `/v1/conversations/${g}/members/${leaver.userId}`, { token: owner.token });
      assert.equal(removed.status, 200);
      const leftSeq = removed.body.leftSeq;
      await api.send(owner, g, 'after');
      await api.request('PATCH', `/v1/conversations/${g}`, { token: owner.token, body: { title: 'secret new title' } });
      const events = await api.request('GET', `/v1/conversations/${g}/events`, { token: leaver.token });
      assert.equal(events.body.items.at(-1).seq, leftSeq);
      assert.equal(events.body.items.at(-1).type, 'MemberRemoved');
      const history = await api.request('GET', `/v1/conversations/${g}/messages`, { token: leaver.token });
      assert.deepEqual(history.body.items.map((m: any) => m.text), ['before']);
      const detail = await api.request('GET', `/v1/conversations/${g}`, { token: leaver.token });
      assert.equal(detail.body.lastSeq, leftSeq);
      assert.notEqual(detail.body.title, 'secret new title');
      const item = (await api.request('GET', '/v1/conversations', { token: leaver.token })).body.items.find((i: any) => i.conversationId === g);
      assert.equal(item.leftSeq, leftSeq);
      assert.equal(item.lastSeq, leftSeq);
      assert.equal(item.lastMessage.text, 'before');
      await refusedWithoutAppend(403, () => api.send(leaver, g, 'still here?'));
      const sync = await api.request('GET', '/v1/sync', { token: leaver.token });
      const seen = sync.body.items.filter((i: any) => i.conversationId === g).map((i: any) => i.seq);
      assert.equal(Math.max(...seen), leftSeq);
    });

    it('edits and recalls apply to history and the list preview', async () => {
      const a = await api.user('a');
      const b = await api.user('b');
      const c = await api.direct(a, b);
      const { seq } = (await api.send(a, c, 'tpyo')).body;
      assert.equal((await api.request('PATCH', `/v1/conversations/${c}/messages/${seq}`, { token: b.token, body: { text: 'not yours' } })).status, 403);
      assert.equal((await api.request('PATCH', `/v1/conversations/${c}/messages/${seq}`, { token: a.token, body: { text: 'typo' } })).status, 200);
      let m = (await api.request('GET', `/v1/conversations/${c}/messages`, { token: b.token })).body.items[0];
      assert.equal(m.text, 'typo');
      assert.ok(m.editedAt);
      assert.equal((await api.request('DELETE', `/v1/conversations/${c}/messages/${seq}`, { token: a.token })).status, 200);
      m = (await api.request('GET', `/v1/conversations/${c}/messages`, { token: b.token })).body.items[0];
      assert.equal(m.recalled, true);
      assert.equal(m.text, null);
      const item = (await api.request('GET', '/v1/conversations', { token: b.token })).body.items.find((i: any) => i.conversationId === c);
      assert.equal(item.lastMessage.recalled, true);
    });
  });

  describe('sync and bad input', () => {
    it('syncs a user inbox by userSeq across conversations', async () => {
      const a = await api.user('a');
      const b = await api.user('b');
      const c = await api.user('c');
      const ab = await api.direct(a, b);
      const ac = await api.direct(a, c);
      await api.send(b, ab, 'from b');
      await api.send(c, ac, 'from c');
      const all = (await api.request('GET', '/v1/sync', { token: a.token })).body;
      assert.deepEqual(all.items.map((i: any) => i.userSeq), [1, 2, 3, 4]);
      assert.deepEqual(all.items.map((i: any) => [i.conversationId, i.seq, i.type]), [
        [ab, 0, 'ConversationCreated'],
        [ac, 0, 'ConversationCreated'],
        [ab, 1, 'MessageSent'],
        [ac, 1, 'MessageSent'],
      ]);
      assert.equal(all.nextUserSeq, 4);
      const rest = (await api.request('GET', '/v1/sync?afterUserSeq=2&limit=1', { token: a.token })).body;
      assert.deepEqual(rest.items.map((i: any) => i.userSeq), [3]);
      assert.equal(rest.nextUserSeq, 3);
      assert.equal(rest.hasMore, true);
    });

    it('refuses malformed JSON, oversized bodies and over-long text without appending', async () => {
      const a = await api.user('a');
      const b = await api.user('b');
      const c = await api.direct(a, b);
      const path = `/v1/conversations/${c}/messages`;
      assert.equal((await refusedWithoutAppend(400, () => api.request('POST', path, { token: a.token, raw: '{"clientMsgId": "x", ' }))).code, 'invalid_json');
      const big = JSON.stringify({ clientMsgId: 'big', text: 'x'.repeat(70 * 1024) });
      assert.equal((await refusedWithoutAppend(413, () => api.request('POST', path, { token: a.token, raw: big }))).code, 'too_large');
      await refusedWithoutAppend(400, () => api.request('POST', path, { token: a.token, body: { clientMsgId: 'long', text: 'y'.repeat(8001) } }));
      await refusedWithoutAppend(400, () => api.request('POST', path, { token: a.token, body: { clientMsgId: '', text: 'empty id' } }));
      await refusedWithoutAppend(400, () => api.request('POST', path, { token: a.token, body: { clientMsgId: 'n', text: 42 } }));
      await refusedWithoutAppend(400, () => api.request('POST', path, { token: a.token, body: [1, 2, 3] }));
      assert.equal((await api.request('GET', '/v1/nowhere', { token: a.token })).status, 404);
      assert.equal((await api.request('GET', '/healthz')).status, 200);
    });

    it('serves an OpenAPI document generated from the request schemas', async () => {
      const doc = (await api.request('GET', '/v1/openapi.json')).body;
      assert.equal(doc.openapi, '3.1.0');
      const send = doc.paths['/v1/conversations/{id}/messages'].post;
      const sendSchema = send.requestBody.content['application/json'].schema;
      assert.deepEqual(sendSchema.required, ['clientMsgId']);
      assert.deepEqual(Object.keys(sendSchema.properties).sort(), ['clientMsgId', 'location', 'media', 'text']);
      assert.ok(doc.paths['/v1/media'].post.requestBody.content['application/octet-stream'], 'an upload is raw bytes');
      assert.ok(doc.paths['/v1/sync'].get.parameters.some((p: any) => p.name === 'afterUserSeq'));
    });
  });
});
