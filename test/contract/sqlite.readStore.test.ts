import { join } from 'node:path';
import { openSqlite } from '../../src/db/sqlite.js';
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
