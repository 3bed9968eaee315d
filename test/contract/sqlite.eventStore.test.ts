import { join } from 'node:path';
import { openSqlite } from '../../src/db/sqlite.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { tempDir } from '../support/tmp.js';
import { eventStoreContract } from './eventStore.contract.js';

eventStoreContract('sqlite', async () => {
  const tmp = tempDir();
  const db = openSqlite(join(tmp.dir, 'chat.db'));
  const store = new SqliteEventStore(db);
  return {
    store,
    async cleanup() {
      await store.close();
      db.close();
      tmp.remove();
    },
  };
});
