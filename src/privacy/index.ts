import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { keyInDataDir } from '../shared/keyFile.js';
import type { EventStore } from '../eventstore/port.js';
import type { KeyStore } from './keyStore.js';
import { sealedEventStore } from './sealedEventStore.js';
import { UserKeys, usernameHasher, type KeyPeers } from './userKeys.js';

export { sealedEventStore } from './sealedEventStore.js';
export { UserKeys, usernameHasher, type KeyPeers } from './userKeys.js';
export type { KeyStore, StoredKey } from './keyStore.js';

/** MASTER_KEY, or the one generated for this DATA_DIR. */
export const masterKey = (config: Pick<Config, 'MASTER_KEY' | 'DATA_DIR'>): Buffer =>
  config.MASTER_KEY ? Buffer.from(config.MASTER_KEY, 'base64') : keyInDataDir(config.DATA_DIR, 'master.key');

/** The users' keys over the key store, and the event store as the product reads and writes it. */
export function personalData(config: Pick<Config, 'MASTER_KEY' | 'DATA_DIR'>, kept: { store: EventStore; keys: KeyStore }, peers: KeyPeers | null = null) {
  const master = masterKey(config);
  const keys = new UserKeys(kept.keys, master, peers);
  return { master, keys, store: sealedEventStore(kept.store, keys) };
}

/** What account commands need of the keys: hashed username streams, the grace period, and the erase itself. */
export function accountKeys(keys: UserKeys, master: Buffer, erasedUsernameGraceDays: number) {
  return {
    hashUsername: usernameHasher(master),
    erasedUsernameGraceMs: erasedUsernameGraceDays * 24 * 3600 * 1000,
    eraseKey: (userId: string) => keys.erase(userId),
  };
}

/** Keys for code that runs the commands on its own store (specs, fixtures): a fresh master key each time. */
export function freshAccountKeys(keyStore: KeyStore, erasedUsernameGraceDays = 30) {
  const master = randomBytes(32);
  return accountKeys(new UserKeys(keyStore, master), master, erasedUsernameGraceDays);
}
