import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDatabase = Database.Database;

/**
 * Opens the embedded profile's single SQLite file (events and read models together).
 *
 * Durability: WAL with synchronous=FULL fsyncs the log on every commit, so an append that was
 * acknowledged survives a process kill and a power loss alike. NORMAL would only survive the
 * former. Group commit (see eventstore/sqlite.ts) amortises the fsync over many appends.
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
