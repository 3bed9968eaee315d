import { join } from 'node:path';
import { openSqlite } from '../../src/db/sqlite.js';
import { SqliteKeyStore } from '../../src/privacy/sqliteKeyStore.js';
import { tempDir } from '../support/tmp.js';
import { keyStoreContract } from './keyStore.contract.js';

keyStoreContract('sqlite', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'chat.db');
  const [db, otherDb] = [openSqlite(path), openSqlite(path)];
  return {
    keys: new SqliteKeyStore(db),
    other: new SqliteKeyStore(otherDb),
    async cleanup() {
      otherDb.close();
      db.close();
      tmp.remove();
    },
  };
});
