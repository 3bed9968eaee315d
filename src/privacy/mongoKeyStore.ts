import { Binary, type Collection, type Db } from 'mongodb';
import type { KeyStore, StoredKey } from './keyStore.js';

interface KeyDoc {
  _id: string;
  wrapped?: Binary;
  erasedAt?: Date;
}

/**
 * The distributed profile's key store: one document per user in the read models' database, shared by
 * the datacenter's instances. An erase replaces the document with the erased mark.
 */
export class MongoKeyStore implements KeyStore {
  private readonly keys: Collection<KeyDoc>;

  constructor(db: Db) {
    this.keys = db.collection<KeyDoc>('userKeys');
  }

  async find(userIds: readonly string[]): Promise<Map<string, StoredKey>> {
    const found = new Map<string, StoredKey>(userIds.map((id) => [id, { state: 'none' }]));
    for (const doc of await this.keys.find({ _id: { $in: [...userIds] } }).toArray()) found.set(doc._id, stored(doc));
    return found;
  }

  async putIfAbsent(userId: string, wrapped: Buffer): Promise<StoredKey> {
    // Upsert with $setOnInsert: of concurrent first writers one inserts, the others read its key.
    const doc = await this.keys.findOneAndUpdate(
      { _id: userId },
      { $setOnInsert: { wrapped: new Binary(wrapped) } },
      { upsert: true, returnDocument: 'after' },
    ).catch(async (error: { code?: number }) => {
      if (error.code !== 11000) throw error;
      return this.keys.findOne({ _id: userId });
    });
    return doc ? stored(doc) : { state: 'none' };
  }

  async erase(userId: string): Promise<void> {
    await this.keys.replaceOne({ _id: userId, erasedAt: { $exists: false } }, { erasedAt: new Date() }, { upsert: true }).catch((error: { code?: number }) => {
      // The erased mark is there already: the filter missed it and the upsert hit its _id.
      if (error.code !== 11000) throw error;
    });
  }
}

const stored = (doc: KeyDoc): StoredKey => (doc.wrapped ? { state: 'live', wrapped: Buffer.from(doc.wrapped.buffer) } : { state: 'erased' });
