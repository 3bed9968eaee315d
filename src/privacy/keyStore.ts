/**
 * Where each user's data key is kept, wrapped by the master key, outside the event log: deleting it
 * is what erases the user's personal data from every event that holds it (crypto-shredding). An
 * erased user keeps a mark instead, so no key is ever made for them again.
 */
export type StoredKey = { state: 'live'; wrapped: Buffer } | { state: 'erased' } | { state: 'none' };

export interface KeyStore {
  /** What is stored for each of these users. */
  find(userIds: readonly string[]): Promise<Map<string, StoredKey>>;
  /** Keeps `wrapped` as the user's key unless they have one or were erased; answers what is kept now. */
  putIfAbsent(userId: string, wrapped: Buffer): Promise<StoredKey>;
  /** Deletes the user's key for good, leaving the erased mark; repeating it changes nothing. */
  erase(userId: string): Promise<void>;
}
