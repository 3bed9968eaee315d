import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { MongoKeyStore } from '../../src/privacy/mongoKeyStore.js';
import { keyStoreContract } from './keyStore.contract.js';

const url = process.env.MONGO_URL;

if (url) {
  keyStoreContract('mongodb', async () => {
    const dbName = `keys_${randomUUID().slice(0, 8)}`;
    const [client, otherClient] = [await MongoClient.connect(url), await MongoClient.connect(url)];
    return {
      keys: new MongoKeyStore(client.db(dbName)),
      other: new MongoKeyStore(otherClient.db(dbName)),
      async cleanup() {
        await client.db(dbName).dropDatabase();
        await Promise.all([client.close(), otherClient.close()]);
      },
    };
  });
} else {
  describe('key store contract: mongodb', () => {
    it.skip('skipped: MONGO_URL is not set (npm run test:infra starts a MongoDB-wire server and sets it)');
  });
}
