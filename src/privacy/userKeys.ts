import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { DomainError } from '../domain/errors.js';
import type { KeyStore, StoredKey } from './keyStore.js';
import { decrypt, encrypt } from './sealing.js';

/** Where a datacenter gets a key it has not stored yet: from the others, which all hold the same one. */
export interface KeyPeers {
  /** What the other datacenters store for the user; throws when one that may hold it cannot be asked. */
  find(userId: string): Promise<StoredKey>;
}

const KEY_BYTES = 32;

/** What opening a batch of events needs of each owner: their key, that they were erased, or that they have none (yet). */
export type OpeningKey = Buffer | 'erased' | 'none';

/**
 * Each user's data key: made once, where the user first needs one (their home datacenter), kept
 * wrapped by the master key in the key store, copied to the other datacenters on demand, and
 * deleted for good by an erase. Keys are cached in the process: an erase evicts them here at once,
 * and in every other process as its live feed reads the account's UserErased: moments after the
 * erase in this datacenter, after the replication lag in the others.
 */
export class UserKeys {
  private readonly cache = new LRUCache<string, Buffer>({ max: 100_000 });
  private readonly erasedListeners: ((userId: string) => void)[] = [];
  /** Erasures this process has seen: never opened again, whatever a lookup in flight brings back. */
  private readonly noticed = new Set<string>();

  constructor(
    private readonly store: KeyStore,
    private readonly master: Buffer,
    private readonly peers: KeyPeers | null = null,
  ) {
    if (master.length !== KEY_BYTES) throw new Error(`the master key must be ${KEY_BYTES} bytes`);
  }

  /** The user's key to seal new personal data with; made when they have none anywhere yet. */
  async forSealing(userId: string): Promise<Buffer> {
    const cached = this.known(userId);
    if (cached === 'erased') throw erasedAccount();
    if (cached) return cached;
    let stored = (await this.store.find([userId])).get(userId)!;
    if (stored.state === 'none') stored = await this.fromPeers(userId);
    if (stored.state === 'none') stored = await this.store.putIfAbsent(userId, this.wrap(userId, randomBytes(KEY_BYTES)));
    const key = this.remember(userId, stored);
    if (key === 'erased' || key === 'none') throw erasedAccount();
    return key;
  }

  /**
   * What opening needs for each owner: the keys of `sealedBy` (fetched from the other datacenters
   * when not stored here yet), and for `clearBy`, owners of events written before sealing, only
   * whether they were erased.
   */
  async forOpening(sealedBy: ReadonlySet<string>, clearBy: ReadonlySet<string>): Promise<Map<string, OpeningKey>> {
    const keys = new Map<string, OpeningKey>();
    const unknown = [...new Set([...sealedBy, ...clearBy])].filter((userId) => {
      const cached = this.known(userId);
      if (cached) keys.set(userId, cached);
      return !cached;
    });
    if (unknown.length === 0) return keys;
    for (const [userId, found] of await this.store.find(unknown)) {
      const stored = found.state === 'none' && sealedBy.has(userId) ? await this.fromPeers(userId) : found;
      keys.set(userId, this.remember(userId, stored));
    }
    return keys;
  }

  /** The wrapped key as stored here, for another datacenter that asks. */
  async stored(userId: string): Promise<StoredKey> {
    return (await this.store.find([userId])).get(userId)!;
  }

  /**
   * Deletes the user's key here (another process may have done so already); listeners drop whatever
   * they kept of the user's data. They are told once per process, unless `again`: the live feed
   * tells them at UserErased too, because a state read while the key was being deleted may have
   * been kept since the first time.
   */
  async erase(userId: string, { again = false } = {}): Promise<void> {
    if ((await this.stored(userId)).state !== 'erased') await this.store.erase(userId);
    this.cache.delete(userId);
    if (this.noticed.has(userId) && !again) return;
    this.noticed.add(userId);
    for (const listener of this.erasedListeners) listener(userId);
  }

  onErased(listener: (userId: string) => void): void {
    this.erasedListeners.push(listener);
  }

  /** A copy from the other datacenters, kept here (an erase seen here meanwhile stays an erase). */
  private async fromPeers(userId: string): Promise<StoredKey> {
    if (!this.peers) return { state: 'none' };
    const found = await this.peers.find(userId);
    if (found.state === 'none') return found;
    if (found.state === 'erased') {
      await this.store.erase(userId);
      return found;
    }
    return this.store.putIfAbsent(userId, found.wrapped);
  }

  private known(userId: string): Buffer | 'erased' | undefined {
    return this.noticed.has(userId) ? 'erased' : this.cache.get(userId);
  }

  /** Keeps what a lookup found (a live key, unwrapped) unless this process saw the user erased meanwhile. */
  private remember(userId: string, stored: StoredKey): OpeningKey {
    if (this.noticed.has(userId) || stored.state === 'erased') return 'erased';
    if (stored.state === 'none') return 'none';
    const key = this.unwrap(userId, stored.wrapped);
    this.cache.set(userId, key);
    return key;
  }

  private wrap(userId: string, key: Buffer): Buffer {
    return encrypt(this.master, key, `user-key:${userId}`);
  }

  private unwrap(userId: string, wrapped: Buffer): Buffer {
    return decrypt(this.master, wrapped, `user-key:${userId}`);
  }
}

/**
 * Names a username's reservation stream by a keyed hash of the name, so the event log's stream names
 * do not spell usernames out: an erased user's name leaves the log with their key's other data.
 */
const erasedAccount = () => new DomainError('not_found', 'this account was erased');

export function usernameHasher(master: Buffer): (username: string) => string {
  const secret = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'chat username streams', KEY_BYTES));
  return (username) => createHmac('sha256', secret).update(username.toLowerCase()).digest('hex').slice(0, 40);
}
