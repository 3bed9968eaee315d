import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { it } from 'node:test';
import { openSqlite } from '../../src/db/sqlite.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { SqliteReadStore } from '../../src/projections/stores/sqlite.js';
import { tempDir } from '../support/tmp.js';
import { readStoreContract } from './readStore.contract.js';

readStoreContract('sqlite', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'read.db');
  // The other writer has its own connection, as a second process on the same file would.
  const [db, otherDb] = [openSqlite(path), openSqlite(path)];
  return {
    store: new SqliteReadStore(db),
    otherWriter: new SqliteReadStore(otherDb),
    async cleanup() {
      otherDb.close();
      db.close();
      tmp.remove();
    },
  };
});

it('sqlite: read models and analytics facts commit without an fsync, events on the same connection with one', async () => {
  const tmp = tempDir();
  const db = openSqlite(join(tmp.dir, 'chat.db'));
  const events = new SqliteEventStore(db);
  const readStore = new SqliteReadStore(db);
  try {
    // Each write notes the connection's synchronous level (1 NORMAL: no fsync at commit, 2 FULL).
    db.exec('CREATE TABLE commit_levels (tbl TEXT NOT NULL, level INTEGER NOT NULL)');
    for (const table of ['events', 'rm_checkpoints', 'rm_analytics_messages']) {
      db.exec(
        `CREATE TRIGGER note_${table} AFTER INSERT ON ${table} BEGIN INSERT INTO commit_levels SELECT '${table}', synchronous FROM pragma_synchronous; END`,
      );
    }
    const at = new Date().toISOString();
    await readStore.apply({ writes: [], checkpoints: { conversations: 1 } });
    await readStore.recordMessageFacts([{ eventId: randomUUID(), conversationId: 'c1', senderId: 'u1', at }]);
    const metadata = { eventId: randomUUID(), originDc: 'dc1', correlationId: randomUUID(), causationId: randomUUID(), at, schemaVersion: 1 };
    await events.append('user-u1', [{ type: 'UserRegistered', data: {}, metadata }], 'no_stream');
    assert.deepEqual(db.prepare('SELECT tbl, level FROM commit_levels').all(), [
      { tbl: 'rm_checkpoints', level: 1 },
      { tbl: 'rm_analytics_messages', level: 1 },
      { tbl: 'events', level: 2 },
    ]);
    assert.equal(db.pragma('synchronous', { simple: true }), 2);
  } finally {
    await events.close();
    db.close();
    tmp.remove();
  }
});
