import { MongoServerError, type Db } from 'mongodb';
import { LeaseLost, nextLease, sameTerm, type FencingToken, type Lease, type LeaseStore } from './port.js';

const COLLECTION = 'leases';
const DUPLICATE_KEY = 11000;
/** Compare-and-set rounds lost to other writers before an acquire gives up until its next try. */
const MAX_ROUNDS = 5;

type LeaseDoc = Omit<Lease, 'name'> & { _id: string };

const toLease = ({ _id, holder, epoch, expiresAt }: LeaseDoc): Lease => ({ name: _id, holder, epoch, expiresAt });

/**
 * Refuses (throws LeaseLost) unless the lease is still the token's. MongoDB cannot make this check
 * and the guarded writes one transaction, so a holder that pauses between the two can still land
 * one batch after losing the lease; the read models' writes are conditional on each document's
 * position, which makes such a batch harmless (nothing moves back, nothing is applied twice).
 */
export async function assertHoldsMongoLease(db: Db, token: FencingToken): Promise<void> {
  const held = await db.collection<LeaseDoc>(COLLECTION).findOne({ _id: token.name, holder: token.holder, epoch: token.epoch }, { projection: { _id: 1 } });
  if (!held) throw new LeaseLost(token);
}

/**
 * Leases in the read store's database, one document per lease. Every change is a compare-and-set
 * on the holder and epoch that were read, so of two instances taking an expired lease at once one
 * wins and the other sees a changed document. (FerretDB v1 matches and then writes, so there two
 * such updates can both succeed; the later one holds the lease, and the fencing check on holder and
 * epoch refuses the other's writes.)
 */
export class MongoLeaseStore implements LeaseStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = () => Date.now(),
  ) {}

  private get leases() {
    return this.db.collection<LeaseDoc>(COLLECTION);
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<Lease | null> {
    return this.change(name, (stored) => nextLease(stored, name, holder, this.now(), ttlMs));
  }

  async renew(token: FencingToken, ttlMs: number): Promise<Lease | null> {
    return this.change(token.name, (stored) => (stored && sameTerm(stored, token) ? { ...stored, expiresAt: this.now() + ttlMs } : null));
  }

  async release(token: FencingToken): Promise<void> {
    await this.change(token.name, (stored) => (stored && sameTerm(stored, token) ? { ...stored, expiresAt: 0 } : null));
  }

  async seize(name: string, holder: string, ttlMs: number): Promise<Lease> {
    const lease = await this.change(name, (stored) => ({ name, holder, epoch: (stored?.epoch ?? 0) + 1, expiresAt: this.now() + ttlMs }));
    if (!lease) throw new Error(`could not seize lease ${name}: it kept changing`);
    return lease;
  }

  async read(name: string): Promise<Lease | null> {
    const doc = await this.leases.findOne({ _id: name });
    return doc ? toLease(doc) : null;
  }

  /** Writes what `decide` makes of the stored lease, unless it decides null; answers what it wrote. */
  private async change(name: string, decide: (stored: Lease | null) => Lease | null): Promise<Lease | null> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const stored = await this.read(name);
      const next = decide(stored);
      if (!next) return null;
      const { holder, epoch, expiresAt } = next;
      if (await this.compareAndSet(name, stored, { _id: name, holder, epoch, expiresAt })) return next;
    }
    return null;
  }

  /** Writes `next` if the lease is still `stored` (absent: not yet inserted); false if another writer changed it first. */
  private async compareAndSet(name: string, stored: Lease | null, next: LeaseDoc): Promise<boolean> {
    if (!stored) {
      try {
        await this.leases.insertOne(next);
        return true;
      } catch (error) {
        if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return false;
        throw error;
      }
    }
    const { _id, ...fields } = next;
    const result = await this.leases.updateOne({ _id: name, holder: stored.holder, epoch: stored.epoch }, { $set: fields });
    return result.matchedCount === 1;
  }
}
