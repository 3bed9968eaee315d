import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqlite } from '../../src/db/sqlite.js';
import { ProjectionRunner } from '../../src/projections/runner.js';
import { SqliteReadStore } from '../../src/projections/stores/sqlite.js';
import { newConversationCache } from '../../src/server.js';
import { ApiClient } from '../support/client.js';
import { PULL_THRESHOLD, workload } from '../support/workload.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { tempDir } from '../support/tmp.js';

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
