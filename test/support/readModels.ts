import { join } from 'node:path';
import { openSqlite } from '../../src/db/sqlite.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { ProjectionRunner } from '../../src/projections/runner.js';
import { SqliteReadStore } from '../../src/projections/stores/sqlite.js';
import { newConversationCache } from '../../src/server.js';

/** Every projection built from position 0 into a fresh database: what the live ones must equal. */
export async function freshRebuild(store: EventStore, dir: string, inboxPullThreshold: number) {
  const db = openSqlite(join(dir, `fresh-${Date.now()}.db`));
  try {
    const readStore = new SqliteReadStore(db);
    const runner = new ProjectionRunner({ store, readStore, conversations: newConversationCache(store), options: { inboxPullThreshold } });
    await runner.catchUp();
    return await readStore.dump();
  } finally {
    db.close();
  }
}

/** Tables a rebuild leaves behind if it did not clean up. */
export function leftoverTables(dataDir: string): string[] {
  const db = openSqlite(join(dataDir, 'chat.db'));
  try {
    const names = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
    return names.filter((n) => n.endsWith('__shadow') || n.endsWith('__retired'));
  } finally {
    db.close();
  }
}
