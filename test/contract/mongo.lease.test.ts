import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { MongoLeaseStore } from '../../src/lease/index.js';
import { MongoReadStore } from '../../src/projections/stores/mongo.js';
import { leaseContract } from './lease.contract.js';

const url = process.env.MONGO_URL;

if (url) {
  leaseContract('mongodb', async (now) => {
    const dbName = `lease_${randomUUID().slice(0, 8)}`;
    const store = await MongoReadStore.connect(url, dbName);
    const otherStore = await MongoReadStore.connect(url, dbName);
    return {
      leases: new MongoLeaseStore(store.db, now),
      other: new MongoLeaseStore(otherStore.db, now),
      sink: store,
      async cleanup() {
        await otherStore.close();
        await store.close();
        const client = await MongoClient.connect(url);
        await client.db(dbName).dropDatabase();
        await client.close();
      },
    };
  });
} else {
  describe('lease contract: mongodb', () => {
    it.skip('skipped: MONGO_URL is not set (npm run test:infra starts a MongoDB-wire server and sets it)');
  });
}
