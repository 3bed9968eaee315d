import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it, test } from 'node:test';
import { pino } from 'pino';
import { RedisRevocationStore } from '../../src/api/revocations.js';
import { DomainError } from '../../src/domain/errors.js';
import { closeRedis, connectRedis } from '../../src/shared/redis.js';
import { closedPort } from '../support/ports.js';
import { eventually } from '../support/waits.js';
import { revocationStoreContract } from './revocationStore.contract.js';

/** The revocation store contract against a real Redis: `npm run test:infra` starts one and sets REDIS_URL. */
const url = process.env.REDIS_URL;
const silent = pino({ level: 'silent' });

if (url) {
  revocationStoreContract('redis', async () => {
    const redis = await connectRedis(url, `contract-${randomUUID().slice(0, 8)}:`, silent);
    return { store: new RedisRevocationStore(redis, silent), cleanup: () => closeRedis(redis) };
  });
} else {
  test('revocation store contract: redis', { skip: 'needs REDIS_URL: npm run test:infra starts Redis' });
}

describe('Redis revocation store while Redis is away', () => {
  it('refuses a logout with 503 unavailable, and accepts tokens with one warning per outage', async () => {
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    const redis = await connectRedis(`redis://127.0.0.1:${await closedPort()}`, 'away:', logger);
    try {
      await eventually('the client to notice Redis is away', async () => warnings.length, (n) => n > 0);
      const store = new RedisRevocationStore(redis, logger);
      await assert.rejects(store.revoke(randomUUID(), Math.floor(Date.now() / 1000) + 60), (e: unknown) => e instanceof DomainError && e.code === 'unavailable');
      assert.equal(await store.isRevoked(randomUUID()), false);
      assert.equal(await store.isRevoked(randomUUID()), false);
      assert.deepEqual(warnings, [
        'Redis is away: rate limits, presence and typing are per instance and token revocations are not checked until it is back',
        'token revocations cannot be checked: tokens are accepted until Redis answers',
      ]);
    } finally {
      await closeRedis(redis);
    }
  });
});
