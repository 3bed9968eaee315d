import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqlite } from '../../src/db/sqlite.js';
import { ProjectionRunner } from '../../src/projections/runner.js';
import { SqliteReadStore } from '../../src/projections/stores/sqlite.js';
import { newConversationCache } from '../../src/server.js';
import { ApiClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { tempDir } from '../support/tmp.js';

const PULL_THRESHOLD = 3;

/** Drives every kind of event through the API: the projections have something to get wrong. */
async function workload(api: ApiClient) {
  const users = await Promise.all(['ann', 'ben', 'cat', 'dan', 'eve'].map((n) => api.user(n)));
  const [ann, ben, cat, dan, eve] = users as [typeof users[0], typeof users[0], typeof users[0], typeof users[0], typeof users[0]];
  const dm = await api.direct(ann, ben);
  const small = await api.group(ann, [ben, cat], 'small');
  const big = await api.group(ann, [ben, cat, dan], 'big (pull mode)');
  for (let i = 0; i < 6; i++) await api.send(i % 2 ? ben : ann, dm, `dm ${i}`);
  const edited = await api.send(cat, small, 'helo');
  await api.request('PATCH', `/v1/conversations/${small}/messages/${edited.body.seq}`, { token: cat.token, body: { text: 'hello' } });
  const recalled = await api.send(ben, small, 'oops');
  await api.request('DELETE', `/v1/conversations/${small}/messages/${recalled.body.seq}`, { token: ann.token });
  await api.request('POST', `/v1/conversations/${small}/members`, { token: ann.token, body: { userId: eve.userId } });
  await api.request('PUT', `/v1/conversations/${small}/members/${eve.userId}/role`, { token: ann.token, body: { role: 'admin' } });
  await api.request('DELETE', `/v1/conversations/${small}/members/${cat.userId}`, { token: eve.token });
  await api.send(eve, small, 'cat is gone');
  for (let i = 0; i < 5; i++) await api.send(users[i % 4]!, big, `big ${i}`);
  await api.request('POST', `/v1/conversations/${big}/read`, { token: dan.token, body: { upToSeq: 5 } });
  await api.request('POST', `/v1/conversations/${dm}/delivered`, { token: ben.token, body: { upToSeq: 6 } });
  await api.request('POST', `/v1/conversations/${dm}/read`, { token: ben.token, body: { upToSeq: 5 } });
  await api.request('PUT', `/v1/conversations/${dm}/settings`, { token: ann.token, body: { pinned: true, muted: true } });
  await api.request('PATCH', `/v1/conversations/${big}`, { token: ann.token, body: { title: 'bigger', announcement: 'hi all' } });
  await api.request('PATCH', '/v1/me', { token: dan.token, body: { displayName: 'Daniel' } });
}

describe('projection rebuild', () => {
  let server: TestServer;
  const tmp = tempDir();
  before(async () => {
    server = await startTestServer({ INBOX_PULL_THRESHOLD: String(PULL_THRESHOLD) });
    await workload(new ApiClient(server.url));
    await server.projections.waitFor(await server.store.headPosition());
  });
  after(async () => {
    await server.stop();
    tmp.remove();
  });

  it('rebuilding every projection from position 0 gives exactly the live documents', async () => {
    const db = openSqlite(join(tmp.dir, 'rebuilt.db'));
    const rebuilt = new SqliteReadStore(db);
    const runner = new ProjectionRunner({
      store: server.store,
      readStore: rebuilt,
      conversations: newConversationCache(server.store),
      options: { inboxPullThreshold: PULL_THRESHOLD },
    });
    const head = await server.store.headPosition();
    assert.equal(await runner.catchUp(), head);
    const live = await server.readStore.dump();
    const fresh = await rebuilt.dump();
    for (const name of Object.keys(live)) assert.ok(live[name]!.length > 0, `${name} is empty: the workload missed it`);
    assert.deepEqual(fresh, live);

    // Applying every event a second time changes nothing.
    db.exec('DELETE FROM rm_checkpoints');
    const again = new ProjectionRunner({
      store: server.store,
      readStore: rebuilt,
      conversations: newConversationCache(server.store),
      options: { inboxPullThreshold: PULL_THRESHOLD },
    });
    await again.catchUp();
    assert.deepEqual(await rebuilt.dump(), live);
    db.close();
  });

  it('pull-mode groups fan out only per-user events to inboxes', async () => {
    const dump = await server.readStore.dump();
    const big = (dump.conversations as any[]).find((c) => c.title === 'bigger');
    const entries = (dump.inbox as any[]).filter((e) => e.conversationId === big.conversationId);
    assert.deepEqual([...new Set(entries.map((e) => e.type))].sort(), ['ConversationCreated', 'MessageRead', 'MessagesDelivered']);
  });
});
