import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * A named lease in the read store: one holder at a time, until it expires unless renewed. Singleton
 * work (projections, push, the Kafka publisher) runs only on the instance holding its lease.
 */
export interface Lease {
  name: string;
  /** Who holds it: `<host>:<pid>:<random>`, one per process and lease keeper. */
  holder: string;
  /** Grows by one with every new holder, and never goes back: the holder's fencing token. */
  epoch: number;
  /** Milliseconds since 1970; at or after it anyone may take the lease. */
  expiresAt: number;
}

/**
 * What a holder's writes carry: the store applies them only while the lease is still this holder's
 * at this epoch, so a holder that paused past its expiry and wakes up cannot write any more.
 */
export type FencingToken = Pick<Lease, 'name' | 'holder' | 'epoch'>;

export interface LeaseStore {
  /**
   * Takes the lease when it is free, expired or held by a process on this machine that is gone (a
   * new epoch), or extends it when this holder already has it (same epoch). Null: held by another.
   */
  acquire(name: string, holder: string, ttlMs: number): Promise<Lease | null>;
  /** Extends the lease while it is still this holder's at this epoch; null once it was lost. */
  renew(token: FencingToken, ttlMs: number): Promise<Lease | null>;
  /** Gives the lease up at once, so another instance need not wait for it to expire. */
  release(token: FencingToken): Promise<void>;
  /** Takes the lease whoever holds it (an operator's rebuild swapping collections in). */
  seize(name: string, holder: string, ttlMs: number): Promise<Lease>;
  /** The lease as stored (for messages to operators); null if never taken. */
  read(name: string): Promise<Lease | null>;
}

/** A write carried a fencing token that is no longer the lease's: its holder lost the lease. */
export class LeaseLost extends Error {
  constructor(token: FencingToken) {
    super(`lease ${token.name} is no longer held by ${token.holder} at epoch ${token.epoch}`);
  }
}

/** A holder id for this process; `random` tells apart several keepers in one process. */
export const newHolderId = (): string => `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/** Whether a process with this id is alive on this machine. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A holder on this machine whose process is gone: its lease may be taken before it expires, so an
 * instance restarted after a crash (the embedded profile's only one) takes its work back at once.
 */
export function holderGone(holder: string): boolean {
  const [host, pid] = holder.split(':');
  return host === hostname() && pid !== String(process.pid) && !processAlive(Number(pid));
}

/** The lease after `holder` asks for it at `now`, from the stored one; null when another holds it. */
export function nextLease(stored: Lease | null, name: string, holder: string, now: number, ttlMs: number): Lease | null {
  const expiresAt = now + ttlMs;
  if (!stored) return { name, holder, epoch: 1, expiresAt };
  if (stored.holder === holder) return { ...stored, expiresAt };
  if (stored.expiresAt > now && !holderGone(stored.holder)) return null;
  return { name, holder, epoch: stored.epoch + 1, expiresAt };
}

export const sameTerm = (a: FencingToken, b: FencingToken): boolean => a.name === b.name && a.holder === b.holder && a.epoch === b.epoch;
