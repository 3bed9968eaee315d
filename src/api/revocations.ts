import type { SqliteDatabase } from '../db/sqlite.js';

/**
 * Revoked token ids (logout), kept in the SQLite file in DATA_DIR so a revocation survives a
 * restart. A row is needed only until the token would have expired anyway; older ones are purged.
 */
export class RevocationList {
  private readonly q;

  constructor(db: SqliteDatabase) {
    db.exec('CREATE TABLE IF NOT EXISTS auth_revoked_tokens (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)');
    this.q = {
      insert: db.prepare('INSERT OR IGNORE INTO auth_revoked_tokens (jti, expires_at) VALUES (?, ?)'),
      purge: db.prepare('DELETE FROM auth_revoked_tokens WHERE expires_at < ?'),
      has: db.prepare('SELECT 1 FROM auth_revoked_tokens WHERE jti = ?').pluck(),
    };
  }

  /** `expiresAt` in seconds since the epoch, as in the token's `exp`. */
  revoke(jti: string, expiresAt: number): void {
    this.q.purge.run(Math.floor(Date.now() / 1000));
    this.q.insert.run(jti, expiresAt);
  }

  isRevoked(jti: string): boolean {
    return this.q.has.get(jti) !== undefined;
  }
}
