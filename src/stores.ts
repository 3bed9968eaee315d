import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { openSqlite, type SqliteDatabase } from './db/sqlite.js';
import { EsdbEventStore, type EsdbEventStoreOptions } from './eventstore/esdb.js';
import type { EventStore, EventStoreStats } from './eventstore/port.js';
import { SqliteLeaseStore, type LeaseStore } from './lease/index.js';
import type { KeyStore } from './privacy/keyStore.js';
import { MongoKeyStore } from './privacy/mongoKeyStore.js';
import { SqliteKeyStore } from './privacy/sqliteKeyStore.js';
import { SqliteEventStore } from './eventstore/sqlite.js';
import type { ReadStoreAdapter } from './projections/ports.js';
import type { RebuildTarget } from './projections/rebuild.js';
import { MongoReadStore } from './projections/stores/mongo.js';
import { MongoRebuildTarget } from './projections/stores/mongoRebuild.js';
import { SqliteReadStore } from './projections/stores/sqlite.js';
import { SqliteRebuildTarget } from './projections/stores/sqliteRebuild.js';
import { MongoReplicationStatus, SqliteReplicationStatus, type ReplicationStatusStore } from './replication/replicationStatus.js';

export interface Stores {
  store: EventStore;
  readStore: ReadStoreAdapter;
  /** For operators: figures about the stored events (SQLite event store only). */
  stats: EventStoreStats | null;
  /** Leases for the work one instance at a time does, kept next to the read models. */
  leases: LeaseStore;
  /** Zero-downtime projection rebuilds. */
  rebuilds: RebuildTarget;
  /** What cross-datacenter replication keeps next to the read models. */
  replicationStatus: ReplicationStatusStore;
  /** Users' data keys: the SQLite file, or MongoDB next to the read models. */
  keys: KeyStore;
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
  {
    create = true,
    onSkippedRecord,
    logger = pino({ level: 'warn' }, pino.destination(2)),
  }: { create?: boolean; onSkippedRecord?: EsdbEventStoreOptions['onSkippedRecord']; logger?: Logger } = {},
): Promise<Stores> {
  const file = join(config.DATA_DIR, 'chat.db');
  if (!create && !existsSync(file)) throw new StoresMissing(`DATA_DIR=${config.DATA_DIR} holds no chat data (${file} does not exist)`);
  const db = openSqlite(file, { create });
  const sqliteEvents = config.EVENT_STORE === 'sqlite' ? new SqliteEventStore(db) : null;
  // loadConfig refuses EVENT_STORE=esdb without ESDB_URL, and READ_STORE=mongo without MONGO_URL.
  const store = sqliteEvents ?? EsdbEventStore.connect(config.ESDB_URL!, { onSkippedRecord });
  const mongoReadStore = config.READ_STORE === 'mongo' ? await MongoReadStore.connect(config.MONGO_URL!) : null;
  const leases = mongoReadStore ? mongoReadStore.leases() : new SqliteLeaseStore(db);
  return {
    store,
    readStore: mongoReadStore ?? new SqliteReadStore(db),
    replicationStatus: mongoReadStore ? new MongoReplicationStatus(mongoReadStore.db) : new SqliteReplicationStatus(db),
    stats: sqliteEvents,
    leases,
    rebuilds: mongoReadStore ? new MongoRebuildTarget(mongoReadStore, leases, logger) : new SqliteRebuildTarget(db),
    keys: mongoReadStore ? new MongoKeyStore(mongoReadStore.db) : new SqliteKeyStore(db),
    db,
    close: () => db.close(),
  };
}
