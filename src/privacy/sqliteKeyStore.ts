import type { SqliteDatabase } from '../db/sqlite.js';
import type { KeyStore, StoredKey } from './keyStore.js';

/**
 * The embedded profile's key store, in the same SQLite file as the events. An erase deletes the key
 * with secure_delete on, so SQLite overwrites the freed bytes, and then checkpoints the write-ahead
 * log into the database file and truncates it, so no earlier copy of the page is left in the log.
 */
export class SqliteKeyStore implements KeyStore {
  private readonly select;
  private readonly insert;
  private readonly remove;
  private readonly mark;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(`CREATE TABLE IF NOT EXISTS user_keys (user_id TEXT PRIMARY KEY, wrapped BLOB, erased_at TEXT,
      CHECK ((wrapped IS NULL) <> (erased_at IS NULL)))`);
    this.select = db.prepare<[string], { user_id: string; wrapped: Buffer | null }>(
      'SELECT user_id, wrapped FROM user_keys WHERE user_id IN (SELECT value FROM json_each(?))',
    );
    this.insert = db.prepare('INSERT OR IGNORE INTO user_keys (user_id, wrapped) VALUES (?, ?)');
    this.remove = db.prepare('DELETE FROM user_keys WHERE user_id = ?');
    this.mark = db.prepare('INSERT INTO user_keys (user_id, erased_at) VALUES (?, ?)');
  }

  async find(userIds: readonly string[]): Promise<Map<string, StoredKey>> {
    const found = new Map<string, StoredKey>(userIds.map((id) => [id, { state: 'none' }]));
    for (const row of this.select.all(JSON.stringify(userIds))) {
      found.set(row.user_id, row.wrapped ? { state: 'live', wrapped: row.wrapped } : { state: 'erased' });
    }
    return found;
  }

  async putIfAbsent(userId: string, wrapped: Buffer): Promise<StoredKey> {
    this.insert.run(userId, wrapped);
    return (await this.find([userId])).get(userId)!;
  }

  async erase(userId: string): Promise<void> {
    const [stored] = (await this.find([userId])).values();
    if (stored?.state === 'erased') return;
    this.db.pragma('secure_delete = ON');
    try {
      this.db.transaction(() => {
        this.remove.run(userId);
        this.mark.run(userId, new Date().toISOString());
      })();
    } finally {
      this.db.pragma('secure_delete = OFF');
    }
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }
}
