import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { pino } from 'pino';
import { openSqlite } from '../db/sqlite.js';
import type { FencingToken } from './port.js';
import { LEASE_RENEW_MS, LEASE_TTL_MS, Singleton } from './singleton.js';
import { SqliteLeaseStore } from './sqlite.js';

const T0 = 1_000_000;
const NAME = 'projections';
const logger = pino({ level: 'silent' });

/** Moves the mocked clock on in small steps, letting the lease store's answers arrive in between. */
async function advance(ms: number): Promise<void> {
  for (let passed = 0; passed < ms; passed += 100) {
    mock.timers.tick(100);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Work that records when it starts (with its epoch) and stops, relative to T0. */
function recordedWork() {
  const log: string[] = [];
  return {
    log,
    work: {
      start: async (token: FencingToken) => void log.push(`start epoch ${token.epoch} at ${Date.now() - T0}`),
      stop: async () => void log.push(`stop at ${Date.now() - T0}`),
    },
  };
}

describe('Singleton', () => {
  let db: ReturnType<typeof openSqlite>;
  let leases: SqliteLeaseStore;
  const singleton = (holder: string, work: ReturnType<typeof recordedWork>['work']) => new Singleton({ name: NAME, holder, leases, work, logger });

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 });
    db = openSqlite(':memory:');
    leases = new SqliteLeaseStore(db);
  });
  afterEach(() => {
    mock.timers.reset();
    if (db.open) db.close();
  });

  it('takes over from a holder that died within TTL + one renewal (6 s), never before its lease expired', async () => {
    assert.equal(LEASE_TTL_MS + LEASE_RENEW_MS, 6000);
    await leases.acquire(NAME, 'elsewhere:1:dead', LEASE_TTL_MS);
    const standby = recordedWork();
    const b = singleton('here:2:b', standby.work);
    await b.start();
    await advance(LEASE_TTL_MS - 100);
    assert.deepEqual(standby.log, [], 'not while the lease lasts');
    await advance(LEASE_RENEW_MS + 100);
    assert.deepEqual(standby.log, ['start epoch 2 at 5000']);
    await b.stop();
  });

  it('keeps the lease while renewing, and a holder that cannot renew stops its work before the lease expires', async () => {
    const held = recordedWork();
    const a = singleton('here:1:a', held.work);
    await a.start();
    await advance(10 * LEASE_RENEW_MS);
    assert.deepEqual(held.log, ['start epoch 1 at 0']);
    const expiresAt = (await leases.read(NAME))!.expiresAt - T0;
    db.close(); // the store is away from now on
    await advance(LEASE_TTL_MS);
    assert.deepEqual(held.log, ['start epoch 1 at 0', `stop at ${expiresAt - LEASE_RENEW_MS}`]);
    assert.equal(a.token, null);
    await a.stop();
  });

  it('stops its work at the next renewal once the lease was seized, and takes it back when it is released', async () => {
    const held = recordedWork();
    const a = singleton('here:1:a', held.work);
    await a.start();
    await advance(100);
    const seized = await leases.seize(NAME, 'operator:9:rebuild', LEASE_TTL_MS);
    await advance(LEASE_RENEW_MS);
    assert.deepEqual(held.log, ['start epoch 1 at 0', 'stop at 1000']);
    await leases.release(seized);
    await advance(LEASE_RENEW_MS);
    assert.deepEqual(held.log, ['start epoch 1 at 0', 'stop at 1000', 'start epoch 3 at 2000']);
    await a.stop();
  });

  it('releases the lease on stop, so a standby takes over at its next try', async () => {
    const first = recordedWork();
    const second = recordedWork();
    const a = singleton('here:1:a', first.work);
    const b = singleton('here:2:b', second.work);
    await a.start();
    await b.start();
    await advance(500);
    await a.stop();
    assert.deepEqual(first.log, ['start epoch 1 at 0', 'stop at 500']);
    await advance(LEASE_RENEW_MS);
    assert.deepEqual(second.log, ['start epoch 2 at 1000']);
    await b.stop();
  });
});
