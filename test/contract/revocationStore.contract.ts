import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RevocationStore } from '../../src/api/revocations.js';

export interface RevocationStoreFixture {
  store: RevocationStore;
  cleanup(): Promise<void>;
}

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** What TokenService relies on, for every RevocationStore adapter. */
export function revocationStoreContract(name: string, open: () => Promise<RevocationStoreFixture>): void {
  describe(`revocation store contract: ${name}`, () => {
    let fixture: RevocationStoreFixture;
    before(async () => {
      fixture = await open();
    });
    after(async () => fixture.cleanup());

    it('refuses a revoked token id from then on, and only that one', async () => {
      const [revoked, other] = [randomUUID(), randomUUID()];
      assert.equal(await fixture.store.isRevoked(revoked), false);
      await fixture.store.revoke(revoked, inAnHour());
      assert.equal(await fixture.store.isRevoked(revoked), true);
      assert.equal(await fixture.store.isRevoked(other), false);
    });

    it('takes a second logout of the same token', async () => {
      const jti = randomUUID();
      await fixture.store.revoke(jti, inAnHour());
      await fixture.store.revoke(jti, inAnHour());
      assert.equal(await fixture.store.isRevoked(jti), true);
    });
  });
}
