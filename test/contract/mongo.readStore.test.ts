import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { MongoReadStore } from '../../src/projections/stores/mongo.js';
import { readStoreContract } from './readStore.contract.js';

const url = process.env.MONGO_URL;

if (url) {
  readStoreContract('mongodb', async () => {
    const dbName = `contract_${randomUUID().slice(0, 8)}`;
    const store = await MongoReadStore.connect(url, dbName);
    const otherWriter = await MongoReadStore.connect(url, dbName);
    return {
      store,
      otherWriter,
      async cleanup() {
        await otherWriter.close();
        await store.close();
        const client = await MongoClient.connect(url);
        await client.db(dbName).dropDatabase();
        await client.close();
      },
    };
  });
} else {
  describe('read store contract: mongodb', () => {
    it.skip('skipped: MONGO_URL is not set (npm run test:infra starts a MongoDB-wire server and sets it)');
  });
}
