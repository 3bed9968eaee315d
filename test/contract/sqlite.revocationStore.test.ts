import { join } from 'node:path';
import { SqliteRevocationStore } from '../../src/api/revocations.js';
import { openSqlite } from '../../src/db/sqlite.js';
import { tempDir } from '../support/tmp.js';
import { revocationStoreContract } from './revocationStore.contract.js';

revocationStoreContract('sqlite', async () => {
  const tmp = tempDir();
  const db = openSqlite(join(tmp.dir, 'chat.db'));
  return {
    store: new SqliteRevocationStore(db),
    async cleanup() {
      db.close();
      tmp.remove();
    },
  };
});
