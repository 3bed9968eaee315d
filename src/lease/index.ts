export { fencedSink } from './fenced.js';
export { MongoLeaseStore, assertHoldsMongoLease } from './mongo.js';
export { LeaseLost, newHolderId, processAlive, type FencingToken, type Lease, type LeaseStore } from './port.js';
export { LEASE_RENEW_MS, LEASE_TTL_MS, Singleton, type GuardedWork } from './singleton.js';
export { SqliteLeaseStore, assertHoldsLease, ensureLeaseTable } from './sqlite.js';
