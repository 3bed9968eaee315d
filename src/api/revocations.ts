import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { SqliteDatabase } from '../db/sqlite.js';
import { DomainError } from '../domain/errors.js';

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

/**
 * Revoked token ids in Redis, shared by every instance: a logout on one is refused on all. A key
 * expires with its token. While Redis is away a logout answers 503 (the token would otherwise stay
 * valid elsewhere while the client believes it is gone), but a token check fails open with a
 * warning: refusing every token would stop all traffic for the outage, while accepting one means
 * only that a token logged out before the outage works until Redis is back (or the token expires).
 */
export class RedisRevocationStore implements RevocationStore {
  private failingOpen = false;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  async revoke(jti: string, expiresAt: number): Promise<void> {
    try {
      await this.redis.set(revokedKey(jti), '1', 'EXAT', expiresAt);
    } catch {
      throw new DomainError('unavailable', 'logout could not be recorded: Redis is unreachable; try again');
    }
  }

  async isRevoked(jti: string): Promise<boolean> {
    try {
      const revoked = (await this.redis.exists(revokedKey(jti))) === 1;
      this.failingOpen = false;
      return revoked;
    } catch (error) {
      if (!this.failingOpen) this.logger.warn({ err: error }, 'token revocations cannot be checked: tokens are accepted until Redis answers');
      this.failingOpen = true;
      return false;
    }
  }
}

const revokedKey = (jti: string) => `revoked:${jti}`;
