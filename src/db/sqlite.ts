import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDatabase = Database.Database;

/**
 * Opens the embedded profile's single SQLite file (events and read models together).
 *
 * Durability: WAL with synchronous=FULL fsyncs the log on every commit, so an append that was
 * acknowledged survives a process kill and a power loss alike. NORMAL would only survive the
 * former. Group commit (see eventstore/sqlite.ts) amortises the fsync over many appends. Only data
 * derived from the events (read models, analytics) commits without it: see commitWithoutFsync.
 */
export function openSqlite(file: string, { create = true }: { create?: boolean } = {}): SqliteDatabase {
  if (create) mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { fileMustExist: !create });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * Runs `commit`, one transaction of data derived from the events (read models with their
 * checkpoints, analytics facts), with synchronous=NORMAL: in WAL mode that skips the fsync at
 * commit and still never leaves the file inconsistent. Such a commit becomes durable with the next
 * fsync of the log (the event store's next commit, a checkpoint), and a power loss can only drop it
 * together with every later commit: the read models then lose their last batches along with the
 * checkpoints those reached, and replay them from the events, which were fsynced before they were
 * projected. The setting is the connection's, and JS runs one transaction at a time on it, so the
 * event store's commits around this one keep their fsync.
 */
export function commitWithoutFsync<T>(db: SqliteDatabase, commit: () => T): T {
  // Inside an open transaction (a rebuild's swap) `commit` is a savepoint: the outer commit decides,
  // and SQLite refuses to change the level there.
  if (db.inTransaction) return commit();
  const previous = db.pragma('synchronous', { simple: true }) as number;
  db.pragma('synchronous = NORMAL');
  try {
    return commit();
  } finally {
    db.pragma(`synchronous = ${previous}`);
  }
}
