import type { SqliteDatabase } from '../db/sqlite.js';
import { LeaseLost, nextLease, sameTerm, type FencingToken, type Lease, type LeaseStore } from './port.js';

const TABLE = 'leases';

interface LeaseRow {
  name: string;
  holder: string;
  epoch: number;
  expiresAt: number;
}

export function ensureLeaseTable(db: SqliteDatabase): void {
  // Rows are never deleted: a released lease keeps its epoch, so the next holder's is higher.
  db.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (name TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch INTEGER NOT NULL, expires_at INTEGER NOT NULL)`);
}

/**
 * Refuses (throws LeaseLost) unless the lease is still the token's. Called inside the writer's
 * transaction, so the check and the writes it guards commit together: no other process can take
 * the lease in between (IMMEDIATE transactions hold every other writer of the file off).
 */
export function assertHoldsLease(db: SqliteDatabase, token: FencingToken): void {
  const held = db.prepare(`SELECT 1 FROM ${TABLE} WHERE name = ? AND holder = ? AND epoch = ?`).get(token.name, token.holder, token.epoch);
  if (!held) throw new LeaseLost(token);
}

/**
 * Leases in the embedded SQLite file: every process on the file (the server, the operator CLI, a
 * second instance) sees the same rows. Each change is read, decided and written in one IMMEDIATE
 * transaction.
 */
export class SqliteLeaseStore implements LeaseStore {
  private readonly get;
  private readonly put;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly now: () => number = () => Date.now(),
  ) {
    ensureLeaseTable(db);
    this.get = db.prepare<[string], LeaseRow>(`SELECT name, holder, epoch, expires_at AS expiresAt FROM ${TABLE} WHERE name = ?`);
    this.put = db.prepare<[LeaseRow]>(
      `INSERT INTO ${TABLE} (name, holder, epoch, expires_at) VALUES (@name, @holder, @epoch, @expiresAt)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at`,
    );
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<Lease | null> {
    return this.change(name, (stored) => nextLease(stored, name, holder, this.now(), ttlMs));
  }

  async renew(token: FencingToken, ttlMs: number): Promise<Lease | null> {
    return this.change(token.name, (stored) => (stored && sameTerm(stored, token) ? { ...stored, expiresAt: this.now() + ttlMs } : null));
  }

  async release(token: FencingToken): Promise<void> {
    this.change(token.name, (stored) => (stored && sameTerm(stored, token) ? { ...stored, expiresAt: 0 } : null));
  }

  async seize(name: string, holder: string, ttlMs: number): Promise<Lease> {
    return this.change(name, (stored) => ({ name, holder, epoch: (stored?.epoch ?? 0) + 1, expiresAt: this.now() + ttlMs }))!;
  }

  async read(name: string): Promise<Lease | null> {
    return this.get.get(name) ?? null;
  }

  /** Writes what `decide` makes of the stored lease, unless it decides null; answers what it wrote. */
  private change(name: string, decide: (stored: Lease | null) => Lease | null): Lease | null {
    return this.db
      .transaction(() => {
        const next = decide(this.get.get(name) ?? null);
        if (next) this.put.run(next);
        return next;
      })
      .immediate();
  }
}
