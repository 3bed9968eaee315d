import type { SqliteDatabase } from '../db/sqlite.js';

/**
 * Where logged-out token ids are kept until their tokens would have expired anyway. Asynchronous
 * so a store shared between instances (Redis, MongoDB) can implement it.
 */
export interface RevocationStore {
  /** `expiresAt` in seconds since the epoch, as in the token's `exp`. */
  revoke(jti: string, expiresAt: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
}

/**
 * Revoked token ids in the SQLite file in DATA_DIR, so a revocation survives a restart. A row is
 * needed only until the token would have expired anyway; older ones are purged.
 */
export class SqliteRevocationStore implements RevocationStore {
  private readonly q;

  constructor(db: SqliteDatabase) {
    db.exec('CREATE TABLE IF NOT EXISTS auth_revoked_tokens (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)');
    this.q = {
      insert: db.prepare('INSERT OR IGNORE INTO auth_revoked_tokens (jti, expires_at) VALUES (?, ?)'),
      purge: db.prepare('DELETE FROM auth_revoked_tokens WHERE expires_at < ?'),
      has: db.prepare('SELECT 1 FROM auth_revoked_tokens WHERE jti = ?').pluck(),
    };
  }

  async revoke(jti: string, expiresAt: number): Promise<void> {
    this.q.purge.run(Math.floor(Date.now() / 1000));
    this.q.insert.run(jti, expiresAt);
  }

  async isRevoked(jti: string): Promise<boolean> {
    return this.q.has.get(jti) !== undefined;
  }
}
