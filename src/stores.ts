import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';
import { openSqlite, type SqliteDatabase } from './db/sqlite.js';
import { EsdbEventStore, type EsdbEventStoreOptions } from './eventstore/esdb.js';
import type { EventStore, EventStoreStats } from './eventstore/port.js';
import { SqliteEventStore } from './eventstore/sqlite.js';
import type { ReadStoreAdapter } from './projections/ports.js';
import type { RebuildTarget } from './projections/rebuild.js';
import { MongoReadStore } from './projections/stores/mongo.js';
import { SqliteReadStore } from './projections/stores/sqlite.js';
import { SqliteRebuildTarget } from './projections/stores/sqliteRebuild.js';

export interface Stores {
  store: EventStore;
  readStore: ReadStoreAdapter;
  /** For operators: figures about the stored events (SQLite event store only). */
  stats: EventStoreStats | null;
  /** Zero-downtime projection rebuilds (SQLite read store only). */
  rebuilds: RebuildTarget | null;
  /** The embedded SQLite file (also where token revocations are kept). */
  db: SqliteDatabase;
  close(): void;
}

/** The data directory holds no stores and the caller asked not to create them. */
export class StoresMissing extends Error {}

/**
 * Opens the stores the configuration selects. Only this file knows concrete store adapters; the
 * server and the CLI open them here. With `create: false` (the operator CLI) missing stores are an
 * error, and nothing is created.
 */
export async function openStores(
  config: Config,
  { create = true, onSkippedRecord }: { create?: boolean; onSkippedRecord?: EsdbEventStoreOptions['onSkippedRecord'] } = {},
): Promise<Stores> {
  const file = join(config.DATA_DIR, 'chat.db');
  if (!create && !existsSync(file)) throw new StoresMissing(`DATA_DIR=${config.DATA_DIR} holds no chat data (${file} does not exist)`);
  const db = openSqlite(file, { create });
  const sqliteEvents = config.EVENT_STORE === 'sqlite' ? new SqliteEventStore(db) : null;
  // loadConfig refuses EVENT_STORE=esdb without ESDB_URL, and READ_STORE=mongo without MONGO_URL.
  const store = sqliteEvents ?? EsdbEventStore.connect(config.ESDB_URL!, { onSkippedRecord });
  const mongo = config.READ_STORE === 'mongo';
  return {
    store,
    readStore: mongo ? await MongoReadStore.connect(config.MONGO_URL!) : new SqliteReadStore(db),
    stats: sqliteEvents,
    rebuilds: mongo ? null : new SqliteRebuildTarget(db),
    db,
    close: () => db.close(),
  };
}
