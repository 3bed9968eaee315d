import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { LeaseLost, type LeaseStore } from '../../src/lease/index.js';
import type { WriteBatch } from '../../src/projections/model.js';
import type { ProjectionSink } from '../../src/projections/ports.js';

export interface LeaseFixture {
  leases: LeaseStore;
  /** The same leases through another connection, as another process or instance sees them. */
  other: LeaseStore;
  /** Read models on the same storage, which check their writers' fencing tokens against the leases. */
  sink: ProjectionSink;
  cleanup(): Promise<void>;
}

const TTL = 5000;
const checkpoint = (name: string, position: number): WriteBatch => ({ writes: [], checkpoints: { [name]: position } });

/** A holder on this machine whose process has exited. */
async function goneHolder(): Promise<string> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return `${hostname()}:${child.pid}:gone`;
}

/**
 * The lease contract: every store's leases take turns the same way, and its read models refuse a
 * batch whose fencing token is no longer the lease's. `makeFixture` gets the clock the stores read.
 */
export function leaseContract(name: string, makeFixture: (now: () => number) => Promise<LeaseFixture>): void {
  describe(`lease contract: ${name}`, () => {
    let clock = 1_000_000;
    let f: LeaseFixture;
    before(async () => {
      f = await makeFixture(() => clock);
    });
    after(() => f.cleanup());
    const lease = () => `lease-${randomUUID().slice(0, 8)}`;

    it('goes to the first holder at epoch 1 and to no one else while it lasts, seen from another connection too', async () => {
      const name = lease();
      const a = await f.leases.acquire(name, 'host:1:a', TTL);
      assert.deepEqual(a, { name, holder: 'host:1:a', epoch: 1, expiresAt: clock + TTL });
      assert.equal(await f.other.acquire(name, 'host:2:b', TTL), null);
      assert.deepEqual(await f.other.read(name), a);
    });

    it('is extended for its holder at the same epoch, by acquire or renew', async () => {
      const name = lease();
      const a = (await f.leases.acquire(name, 'host:1:a', TTL))!;
      clock += 1000;
      assert.deepEqual(await f.leases.acquire(name, 'host:1:a', TTL), { ...a, expiresAt: clock + TTL });
      clock += 1000;
      assert.deepEqual(await f.leases.renew(a, TTL), { ...a, expiresAt: clock + TTL });
    });

    it('goes to another holder at a higher epoch once expired, and the former holder can no longer renew it', async () => {
      const name = lease();
      const a = (await f.leases.acquire(name, 'host:1:a', TTL))!;
      clock += TTL - 1;
      assert.equal(await f.other.acquire(name, 'host:2:b', TTL), null, 'not before it expires');
      clock += 1;
      const b = await f.other.acquire(name, 'host:2:b', TTL);
      assert.equal(b?.epoch, 2);
      assert.equal(await f.leases.renew(a, TTL), null);
    });

    it('is free at once when released, and its epoch keeps growing', async () => {
      const name = lease();
      const a = (await f.leases.acquire(name, 'host:1:a', TTL))!;
      await f.leases.release(a);
      const b = (await f.other.acquire(name, 'host:2:b', TTL))!;
      assert.equal(b.epoch, 2);
      await f.other.release(b);
      assert.equal((await f.leases.acquire(name, 'host:1:a', TTL))?.epoch, 3, 'a former holder coming back gets a new epoch');
      await f.leases.release(a);
      assert.equal((await f.other.read(name))?.holder, 'host:1:a', 'a release of an older term changes nothing');
      assert.notEqual((await f.other.read(name))?.expiresAt, 0);
    });

    it('is seized from a live holder at a higher epoch', async () => {
      const name = lease();
      const a = (await f.leases.acquire(name, 'host:1:a', TTL))!;
      const seized = await f.other.seize(name, 'host:3:rebuild', TTL);
      assert.deepEqual(seized, { name, holder: 'host:3:rebuild', epoch: 2, expiresAt: clock + TTL });
      assert.equal(await f.leases.renew(a, TTL), null);
    });

    it('is taken before it expires from a holder on this machine whose process is gone', async () => {
      const name = lease();
      await f.leases.acquire(name, await goneHolder(), TTL);
      assert.equal((await f.other.acquire(name, 'host:2:b', TTL))?.epoch, 2);
    });

    it("refuses a batch carrying a former holder's fencing token, and writes none of it", async () => {
      const name = lease();
      const a = (await f.leases.acquire(name, 'host:1:a', TTL))!;
      await f.sink.apply(checkpoint(name, 10), a);
      clock += TTL;
      const b = (await f.other.acquire(name, 'host:2:b', TTL))!;
      await assert.rejects(f.sink.apply(checkpoint(name, 20), a), LeaseLost);
      assert.equal((await f.sink.checkpoints())[name], 10);
      await f.sink.apply(checkpoint(name, 30), b);
      assert.equal((await f.sink.checkpoints())[name], 30);
    });

    it('lets two holders racing for an expired lease leave one holder, whose writes alone are accepted', async () => {
      const name = lease();
      await f.leases.acquire(name, 'host:1:a', TTL);
      clock += TTL;
      const won = (await Promise.all([f.leases.acquire(name, 'host:2:b', TTL), f.other.acquire(name, 'host:3:c', TTL)])).filter((l) => l !== null);
      assert.ok(won.length >= 1, 'someone takes an expired lease');
      const holder = (await f.leases.read(name))!;
      assert.ok(won.some((l) => l.holder === holder.holder && l.epoch === holder.epoch));
      for (const loser of won.filter((l) => l.holder !== holder.holder)) await assert.rejects(f.sink.apply(checkpoint(name, 1), loser), LeaseLost);
      await f.sink.apply(checkpoint(name, 2), holder);
    });
  });
}
