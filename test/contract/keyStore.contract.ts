import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { KeyStore } from '../../src/privacy/keyStore.js';

export interface KeyStoreFixture {
  keys: KeyStore;
  /** The same key store through another connection, as another instance sees it. */
  other: KeyStore;
  cleanup(): Promise<void>;
}

/** The behaviour every key store adapter must have: the erase of a user is what erasing an account relies on. */
export function keyStoreContract(name: string, open: () => Promise<KeyStoreFixture>): void {
  describe(`key store contract: ${name}`, () => {
    let f: KeyStoreFixture;
    before(async () => {
      f = await open();
    });
    after(() => f.cleanup());

    it('answers none for users without a key, and keeps the first key put for a user', async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      assert.deepEqual([...(await f.keys.find([a, b])).values()], [{ state: 'none' }, { state: 'none' }]);
      const first = randomBytes(60);
      assert.deepEqual(await f.keys.putIfAbsent(a, first), { state: 'live', wrapped: first });
      assert.deepEqual(await f.other.putIfAbsent(a, randomBytes(60)), { state: 'live', wrapped: first }, 'a second key is refused');
      const found = await f.other.find([a, b]);
      assert.deepEqual([found.get(a), found.get(b)], [{ state: 'live', wrapped: first }, { state: 'none' }]);
    });

    it('gives concurrent first writers one and the same key', async () => {
      const user = randomUUID();
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? f.keys : f.other).putIfAbsent(user, randomBytes(60))));
      const kept = answers.map((a) => (a.state === 'live' ? a.wrapped.toString('hex') : a.state));
      assert.equal(new Set(kept).size, 1);
    });

    it('erases a key for good: erased everywhere, never put again, and erasing again changes nothing', async () => {
      const user = randomUUID();
      await f.keys.putIfAbsent(user, randomBytes(60));
      await f.keys.erase(user);
      assert.deepEqual((await f.other.find([user])).get(user), { state: 'erased' });
      assert.deepEqual(await f.other.putIfAbsent(user, randomBytes(60)), { state: 'erased' });
      await f.other.erase(user);
      assert.deepEqual((await f.keys.find([user])).get(user), { state: 'erased' });
    });

    it('erases a user it never held a key for (a datacenter that never needed one)', async () => {
      const user = randomUUID();
      await f.keys.erase(user);
      assert.deepEqual((await f.keys.find([user])).get(user), { state: 'erased' });
      assert.deepEqual(await f.keys.putIfAbsent(user, randomBytes(60)), { state: 'erased' });
    });
  });
}
