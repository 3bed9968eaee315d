import type { SqliteDatabase } from '../../db/sqlite.js';
import type { ProjectionName } from '../projectors.js';
import { RebuildRunning, type RebuildTarget, type ShadowBuild } from '../rebuild.js';
import { liveTables, SqliteReadStore, tablesOfProjection, tablesWithSuffix } from './sqlite.js';

const SHADOW = '__shadow';
const RETIRED = '__retired';
const shadowTables = tablesWithSuffix(SHADOW);
const LOCK = 'rm_rebuild_lock';
const REBUILD_CACHE_KIB = 256 * 1024;

/** Whether a process with this id is alive on this machine (the embedded file is local). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Rebuilds in the embedded file: shadow tables next to the live ones, then one short IMMEDIATE
 * transaction that applies the tail and renames the shadow tables in. The server's prepared
 * statements name tables, so SQLite re-prepares them against the new tables on their next run,
 * and its read store notices the other writer through data_version (see SqliteReadStore.apply).
 */
export class SqliteRebuildTarget implements RebuildTarget {
  constructor(private readonly db: SqliteDatabase) {}

  async begin(projections: ProjectionName[]): Promise<ShadowBuild> {
    const db = this.db;
    // The shadow copy is disposable until the swap: no fsync per batch (WAL with NORMAL still
    // never corrupts the file), and a page cache large enough for the B-trees being filled.
    db.pragma('synchronous = NORMAL');
    db.pragma(`cache_size = -${REBUILD_CACHE_KIB}`);
    db.transaction(() => {
      db.exec(`CREATE TABLE IF NOT EXISTS ${LOCK} (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, started_at TEXT NOT NULL)`);
      const holder = db.prepare(`SELECT pid, started_at AS startedAt FROM ${LOCK}`).get() as { pid: number; startedAt: string } | undefined;
      if (holder && holder.pid !== process.pid && processAlive(holder.pid)) {
        throw new RebuildRunning(`another rebuild (pid ${holder.pid}, started ${holder.startedAt}) is running`);
      }
      db.prepare(`INSERT OR REPLACE INTO ${LOCK} (id, pid, started_at) VALUES (1, ?, ?)`).run(process.pid, new Date().toISOString());
      this.dropLeftovers();
    }).immediate();
    const shadow = new SqliteReadStore(db, shadowTables);
    return {
      shadow,
      swap: (finish) => this.swap(projections, shadow, finish),
      discard: async () => {
        db.transaction(() => {
          this.dropLeftovers();
          db.exec(`DELETE FROM ${LOCK}`);
        }).immediate();
      },
    };
  }

  private async swap(projections: ProjectionName[], shadow: SqliteReadStore, finish: () => Promise<unknown>): Promise<void> {
    const db = this.db;
    // A manual transaction because `finish` is async; nothing else in this process uses the
    // connection meanwhile, and IMMEDIATE holds the server's writers off until COMMIT. The swap
    // itself must be durable: the checkpoint it moves is what the server builds on.
    db.pragma('synchronous = FULL');
    db.exec('BEGIN IMMEDIATE');
    try {
      await finish();
      const reached = await shadow.checkpoints();
      const save = db.prepare(
        `INSERT INTO ${liveTables.checkpoints} (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = MAX(position, excluded.position)`,
      );
      for (const name of projections) {
        for (const kind of tablesOfProjection[name]!) {
          db.exec(`ALTER TABLE ${liveTables[kind]} RENAME TO ${liveTables[kind]}${RETIRED}`);
          db.exec(`ALTER TABLE ${shadowTables[kind]} RENAME TO ${liveTables[kind]}`);
        }
        save.run(name, reached[name] ?? 0);
      }
      db.exec(`DELETE FROM ${LOCK}`);
      db.exec('COMMIT');
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
    // Dropping big tables takes a while: one transaction per table, outside the swap.
    for (const table of this.leftoverTables()) db.exec(`DROP TABLE IF EXISTS ${table}`);
  }

  /** Shadow tables of an unfinished rebuild and old tables a finished one has not dropped yet. */
  private leftoverTables(): string[] {
    const names = this.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
    return names.filter((name) => name.endsWith(SHADOW) || name.endsWith(RETIRED));
  }

  private dropLeftovers(): void {
    for (const table of this.leftoverTables()) this.db.exec(`DROP TABLE ${table}`);
  }
}
