import { join } from 'node:path';
import { openSqlite } from '../../src/db/sqlite.js';
import { SqliteLeaseStore } from '../../src/lease/index.js';
import { SqliteReadStore } from '../../src/projections/stores/sqlite.js';
import { tempDir } from '../support/tmp.js';
import { leaseContract } from './lease.contract.js';

leaseContract('sqlite', async (now) => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'chat.db');
  // The other store has its own connection, as a second process on the same file would.
  const [db, otherDb] = [openSqlite(path), openSqlite(path)];
  return {
    leases: new SqliteLeaseStore(db, now),
    other: new SqliteLeaseStore(otherDb, now),
    sink: new SqliteReadStore(db),
    async cleanup() {
      otherDb.close();
      db.close();
      tmp.remove();
    },
  };
});
