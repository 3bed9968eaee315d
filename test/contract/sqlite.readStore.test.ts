import { join } from 'node:path';
import { openSqlite } from '../../src/db/sqlite.js';
import { SqliteReadStore } from '../../src/projections/stores/sqlite.js';
import { tempDir } from '../support/tmp.js';
import { readStoreContract } from './readStore.contract.js';

readStoreContract('sqlite', async () => {
  const tmp = tempDir();
  const db = openSqlite(join(tmp.dir, 'read.db'));
  return {
    store: new SqliteReadStore(db),
    async cleanup() {
      db.close();
      tmp.remove();
    },
  };
});
