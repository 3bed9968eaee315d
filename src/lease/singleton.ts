import type { Logger } from 'pino';
import type { FencingToken, Lease, LeaseStore } from './port.js';

/**
 * Lease timing. A holder renews every second; a standby tries every second. A holder that dies
 * stops renewing, its lease expires at most TTL after its last renewal, and a standby takes it at
 * its next try: takeover within TTL + RENEW = 6 s (at once on the same machine, see holderGone).
 * A holder that cannot renew stops its work a renewal before its lease expires.
 */
export const LEASE_TTL_MS = 5000;
export const LEASE_RENEW_MS = 1000;

/** Work that must run on one instance at a time. */
export interface GuardedWork {
  /** Starts the work; its writes carry the token, so the store refuses them once the lease is lost. */
  start(token: FencingToken): Promise<void>;
  stop(): Promise<void>;
}

export interface SingletonDeps {
  name: string;
  holder: string;
  leases: LeaseStore;
  work: GuardedWork;
  logger: Logger;
  ttlMs?: number;
  renewEveryMs?: number;
}

/**
 * Keeps trying for a lease and renewing it once held: starts the work when the lease is gained,
 * stops it when it is lost (taken over, or not renewed in time), and releases it on stop.
 */
export class Singleton {
  private lease: Lease | null = null;
  /** Until when this instance may take the lease as its own: measured from before the request. */
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private turn: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;

  constructor(private readonly deps: SingletonDeps) {
    this.ttlMs = deps.ttlMs ?? LEASE_TTL_MS;
    this.renewEveryMs = deps.renewEveryMs ?? LEASE_RENEW_MS;
  }

  /** The current term's token; null while another instance holds the lease. */
  get token(): FencingToken | null {
    return this.lease;
  }

  /** Tries for the lease now (resolves once tried, and started the work if won), then keeps at it. */
  start(): Promise<void> {
    return this.tick();
  }

  /** Stops the work if it runs here and releases the lease, so a standby takes over at its next try. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.turn;
    const lease = this.lease;
    if (!lease) return;
    this.lease = null;
    await this.deps.work.stop();
    await this.deps.leases.release(lease).catch((err) => this.deps.logger.warn({ err, lease: lease.name }, 'could not release the lease; it expires'));
  }

  private async tick(): Promise<void> {
    this.turn = (this.lease ? this.renew() : this.acquire()).catch((err) =>
      this.deps.logger.error({ err, lease: this.deps.name }, 'lease step failed'),
    );
    await this.turn;
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.renewEveryMs);
  }

  private async acquire(): Promise<void> {
    const { name, holder, leases, work, logger } = this.deps;
    const asked = Date.now();
    const lease = await leases.acquire(name, holder, this.ttlMs);
    if (!lease) return;
    this.lease = lease;
    this.validUntil = asked + this.ttlMs;
    logger.info({ lease: name, epoch: lease.epoch }, 'lease gained; starting its work here');
    try {
      await work.start(lease);
    } catch (err) {
      logger.error({ err, lease: name }, 'work under the lease failed to start; giving the lease up');
      this.lease = null;
      await work.stop().catch(() => undefined);
      await leases.release(lease);
    }
  }

  private async renew(): Promise<void> {
    const asked = Date.now();
    let renewed: Lease | null;
    try {
      renewed = await this.deps.leases.renew(this.lease!, this.ttlMs);
    } catch (err) {
      this.deps.logger.warn({ err, lease: this.deps.name }, 'could not renew the lease');
      // The next renewal may come too late: stop while the lease is surely still ours.
      if (Date.now() + this.renewEveryMs >= this.validUntil) await this.lose('not renewed in time');
      return;
    }
    if (!renewed) return this.lose('taken over');
    this.lease = renewed;
    this.validUntil = asked + this.ttlMs;
  }

  private async lose(why: string): Promise<void> {
    this.deps.logger.warn({ lease: this.deps.name, epoch: this.lease?.epoch, why }, 'lease lost; stopping its work here');
    this.lease = null;
    await this.deps.work.stop();
  }
}
