import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { InstanceBus, RedisPresence } from '../../src/instances/index.js';
import type { Signal } from '../../src/datacenters/index.js';
import { closeRedis, connectRedis } from '../../src/shared/redis.js';
import { eventually } from '../support/waits.js';

const url = process.env.REDIS_URL;
const silent = pino({ level: 'silent' });

/** Presence and signals shared by instances through a real Redis: `npm run test:infra` starts one. */
describe('instances sharing presence and signals through Redis', { skip: url ? false : 'needs REDIS_URL: npm run test:infra starts Redis' }, () => {
  let redis: Redis;
  let prefix: string;
  before(async () => {
    prefix = `presence-${randomUUID().slice(0, 8)}:`;
    redis = await connectRedis(url!, prefix, silent);
  });
  after(async () => closeRedis(redis));

  it('tells only the instance that changed the datacenter’s state', async () => {
    const [one, two] = [new RedisPresence(redis, 'one'), new RedisPresence(redis, 'two')];
    assert.equal(await one.arrived('a'), true, 'the first socket anywhere');
    assert.equal(await two.arrived('a'), false, 'already online through the other instance');
    assert.equal(await one.left('a'), false, 'still online through the other instance');
    assert.equal(await two.isOnline('a'), true);
    assert.equal(await one.isOnline('a'), true);
    assert.equal(await two.left('a'), true, 'the last socket anywhere');
    assert.equal(await one.isOnline('a'), false);
  });

  it('of instances taking a user’s first sockets at once, exactly one learns the user came online', async () => {
    const instances = Array.from({ length: 8 }, (_, i) => new RedisPresence(redis, `i${i}`));
    const changed = await Promise.all(instances.map((p) => p.arrived('b')));
    assert.equal(changed.filter(Boolean).length, 1);
    const gone = await Promise.all(instances.map((p) => p.left('b')));
    assert.equal(gone.filter(Boolean).length, 1);
  });

  it('forgets the sockets of an instance that stopped refreshing, and keeps those of one that refreshes', async () => {
    const killed = new RedisPresence(redis, 'killed', 300);
    const alive = new RedisPresence(redis, 'alive', 300);
    await killed.arrived('c');
    await alive.arrived('d');
    await eventually('the killed instance’s entry to expire', () => killed.isOnline('c'), (online) => !online);
    await alive.refresh(['d']);
    assert.equal(await alive.isOnline('d'), true, 'just refreshed');
    assert.equal(await alive.arrived('c'), true, 'coming back through a live instance is news');
  });

  it('passes a signal to every other instance, not back to its sender', async () => {
    const names = ['one', 'two', 'three'] as const;
    const buses = names.map((name) => InstanceBus.overRedis(redis, prefix, name, silent));
    const heard = names.map(() => [] as [Signal, boolean][]);
    buses.forEach((bus, i) => bus.onSignal((signal, fromAnotherDc) => heard[i]!.push([signal, fromAnotherDc])));
    const news = (i: number) => heard[i]!.filter(([s]) => s.userId !== 'fence');
    try {
      // Subscribing takes a moment: fences go out until every bus has heard one.
      await eventually(
        'every bus to be subscribed',
        async () => {
          buses[0]!.relay({ kind: 'presence', userId: 'fence', online: false, lastSeenAt: null });
          buses[1]!.relay({ kind: 'presence', userId: 'fence', online: false, lastSeenAt: null });
          return heard.every((h) => h.length > 0);
        },
        Boolean,
      );
      const typing: Signal = { kind: 'typing', conversationId: 'c1', userId: 'a', typing: true };
      const presence: Signal = { kind: 'presence', userId: 'a', online: true, lastSeenAt: null };
      buses[0]!.relay(typing);
      buses[1]!.relay(presence, true);
      await eventually('both signals at the third instance', async () => news(2).length, (n) => n === 2);
      assert.deepEqual(news(2), [
        [typing, false],
        [presence, true],
      ]);
      await eventually('the presence at the first', async () => news(0).length, (n) => n === 1);
      await eventually('the typing at the second', async () => news(1).length, (n) => n === 1);
      // Each bus publishes on one connection, in order: a fence from each sender after its signal
      // arrives after any echo of it would have.
      const fenced = heard.map((h) => h.length);
      buses[0]!.relay({ kind: 'presence', userId: 'fence', online: true, lastSeenAt: null });
      buses[1]!.relay({ kind: 'presence', userId: 'fence', online: true, lastSeenAt: null });
      await eventually('the last fences', async () => heard.map((h, i) => h.slice(fenced[i]).filter(([s]) => s.kind === 'presence' && s.online).length), (n) => n[0] === 1 && n[1] === 1 && n[2] === 2);
      assert.deepEqual(news(0), [[presence, true]], 'the first hears the second, not itself');
      assert.deepEqual(news(1), [[typing, false]], 'the second hears the first, not itself');
    } finally {
      for (const bus of buses) bus.close();
    }
  });
});
