import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WrongExpectedRevision } from '../../src/domain/errors.js';
import type { EventStore, EventToAppend, ExpectedRevision, RecordedEvent } from '../../src/eventstore/index.js';

export interface EventStoreFixture {
  store: EventStore;
  cleanup(): Promise<void>;
}

/**
 * The event store contract: every adapter runs this unchanged. Streams are fresh per test and
 * global reads start at the head seen before the test, so a shared server can run it too.
 */
export function eventStoreContract(name: string, makeFixture: () => Promise<EventStoreFixture>): void {
  describe(`event store contract: ${name}`, () => {
    let fixture: EventStoreFixture;
    let store: EventStore;
    before(async () => {
      fixture = await makeFixture();
      store = fixture.store;
    });
    after(async () => fixture.cleanup());

    const stream = () => `conversation-${randomUUID()}`;
    const event = (type = 'MessageSent', data: unknown = { n: 1 }): EventToAppend => ({
      type,
      data,
      metadata: {
        eventId: randomUUID(),
        originDc: 'dc1',
        correlationId: randomUUID(),
        causationId: randomUUID(),
        at: new Date().toISOString(),
        schemaVersion: 1,
      },
    });
    const rejectsWrongRevision = (p: Promise<unknown>) =>
      assert.rejects(p, (e: unknown) => e instanceof WrongExpectedRevision);

    it('appends to a new stream with no_stream, numbering revisions from 0', async () => {
      const s = stream();
      const result = await store.append(s, [event(), event(), event()], 'no_stream');
      assert.equal(result.nextExpectedRevision, 2);
      const read = await store.readStream(s);
      assert.deepEqual(read.map((e) => e.revision), [0, 1, 2]);
      assert.equal(read[2]!.position, result.position);
    });

    it('refuses no_stream when the stream exists', async () => {
      const s = stream();
      await store.append(s, [event()], 'no_stream');
      await rejectsWrongRevision(store.append(s, [event()], 'no_stream'));
      assert.equal((await store.readStream(s)).length, 1);
    });

    it('appends at an exact revision and refuses a stale one', async () => {
      const s = stream();
      await store.append(s, [event(), event()], 'no_stream');
      await rejectsWrongRevision(store.append(s, [event()], 0));
      await rejectsWrongRevision(store.append(s, [event()], 5));
      const ok = await store.append(s, [event()], 1);
      assert.equal(ok.nextExpectedRevision, 2);
    });

    it('stream_exists needs the stream and any accepts both', async () => {
      const s = stream();
      await rejectsWrongRevision(store.append(s, [event()], 'stream_exists'));
      await store.append(s, [event()], 'any');
      await store.append(s, [event()], 'stream_exists');
      await store.append(s, [event()], 'any');
      assert.equal((await store.readStream(s)).length, 3);
    });

    it('round-trips type, data and metadata', async () => {
      const s = stream();
      const e = event('MessageSent', { text: 'héllo 👋', nested: { list: [1, 2] }, none: null });
      await store.append(s, [e], 'no_stream');
      const [read] = await store.readStream(s);
      assert.equal(read!.streamId, s);
      assert.equal(read!.type, 'MessageSent');
      assert.deepEqual(read!.data, e.data);
      assert.deepEqual(read!.metadata, e.metadata);
    });

    it('reads a stream forwards from a revision, bounded by maxCount', async () => {
      const s = stream();
      await store.append(s, Array.from({ length: 10 }, (_, i) => event('MessageSent', { i })), 'no_stream');
      const page = await store.readStream(s, { fromRevision: 4, maxCount: 3 });
      assert.deepEqual(page.map((e) => e.revision), [4, 5, 6]);
      assert.deepEqual(page.map((e) => (e.data as { i: number }).i), [4, 5, 6]);
      assert.deepEqual(await store.readStream(s, { fromRevision: 10 }), []);
      assert.deepEqual(await store.readStream(stream()), []);
    });

    const kinds: { name: string; prepare: (s: string) => Promise<void>; expected: ExpectedRevision }[] = [
      { name: 'no_stream', prepare: async () => {}, expected: 'no_stream' },
      { name: 'an exact revision', prepare: async (s) => void (await store.append(s, [event()], 'no_stream')), expected: 0 },
      { name: 'any', prepare: async () => {}, expected: 'any' },
      { name: 'stream_exists', prepare: async (s) => void (await store.append(s, [event()], 'no_stream')), expected: 'stream_exists' },
    ];
    for (const kind of kinds) {
      it(`a retry with the same event ids and ${kind.name} appends nothing and returns the original result`, async () => {
        const s = stream();
        await kind.prepare(s);
        const before = (await store.readStream(s)).length;
        const batch = [event(), event()];
        const first = await store.append(s, batch, kind.expected);
        const again = await store.append(s, batch, kind.expected);
        assert.deepEqual(again, first);
        const stored = await store.readStream(s);
        assert.equal(stored.length, before + 2);
        assert.equal(stored[stored.length - 1]!.position, first.position);
      });
    }

    it('a retry at an exact revision returns the original result after the stream moved on', async () => {
      const s = stream();
      await store.append(s, [event()], 'no_stream');
      const batch = [event(), event()];
      const first = await store.append(s, batch, 0);
      await store.append(s, [event()], first.nextExpectedRevision);
      assert.deepEqual(await store.append(s, batch, 0), first);
      assert.deepEqual((await store.readStream(s)).map((e) => e.revision), [0, 1, 2, 3]);
    });

    it('refuses an expected revision that is not a revision, and fails no other append with it', async () => {
      const s = stream();
      const [bad, fraction, good] = await Promise.allSettled([
        store.append(s, [event()], -1),
        store.append(s, [event()], 1.5),
        store.append(stream(), [event()], 'no_stream'),
      ]);
      assert.equal(bad.status, 'rejected');
      assert.match(String((bad as PromiseRejectedResult).reason), /not an expected revision/);
      assert.equal(fraction.status, 'rejected');
      assert.equal(good.status, 'fulfilled');
      assert.deepEqual(await store.readStream(s), []);
    });

    it('takes lower-case UUIDs of version 4, 5 and 7 as event ids, and refuses anything else', async () => {
      const s = stream();
      const ids = [randomUUID(), uuidV5(`contract ${randomUUID()}`), uuidV7()];
      await store.append(s, ids.map((id) => withId(event(), id)), 'no_stream');
      assert.deepEqual((await store.readStream(s)).map((e) => e.metadata.eventId), ids);
      for (const id of ['e1', randomUUID().toUpperCase(), '00000000-0000-1000-8000-000000000000']) {
        await assert.rejects(store.append(s, [withId(event(), id)], 2), /is not a lower-case UUID/);
      }
      assert.equal((await store.readStream(s)).length, 3);
    });

    describe('appendAt (replicating another datacenter)', () => {
      it('appends an event at exactly its revision, keeping its id and metadata', async () => {
        const s = stream();
        const first = event();
        const outcome = await store.appendAt(s, 0, first);
        assert.equal(outcome.outcome, 'appended');
        const [stored] = await store.readStream(s);
        assert.deepEqual(stored!.metadata, first.metadata);
        assert.equal(outcome.outcome === 'appended' && outcome.position, stored!.position);
        assert.equal((await store.appendAt(s, 1, event())).outcome, 'appended');
      });

      it('reports the same event already at that revision as a duplicate and stores nothing', async () => {
        const s = stream();
        const e = event();
        await store.appendAt(s, 0, e);
        await store.append(s, [event()], 0);
        const [stored] = await store.readStream(s);
        assert.deepEqual(await store.appendAt(s, 0, e), { outcome: 'duplicate', position: stored!.position });
        assert.equal((await store.readStream(s)).length, 2);
      });

      it('reports a different event at that revision as a divergence, naming the event found', async () => {
        const s = stream();
        const mine = event();
        await store.append(s, [mine], 'no_stream');
        const [stored] = await store.readStream(s);
        const outcome = await store.appendAt(s, 0, event());
        assert.deepEqual(outcome, { outcome: 'diverged', foundEventId: mine.metadata.eventId, position: stored!.position });
        assert.equal((await store.readStream(s)).length, 1);
      });

      it('reports a gap when the stream ends before the revision just below, with its last revision', async () => {
        const s = stream();
        assert.deepEqual(await store.appendAt(s, 3, event()), { outcome: 'gap', lastRevision: -1 });
        await store.append(s, [event(), event()], 'no_stream');
        assert.deepEqual(await store.appendAt(s, 3, event()), { outcome: 'gap', lastRevision: 1 });
        assert.equal((await store.readStream(s)).length, 2);
      });
    });

    it('of concurrent appends at the same expected revision exactly one wins', async () => {
      const s = stream();
      await store.append(s, [event()], 'no_stream');
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => store.append(s, [event()], 0)));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      for (const o of outcomes) {
        if (o.status === 'rejected') assert.ok(o.reason instanceof WrongExpectedRevision);
      }
      assert.deepEqual((await store.readStream(s)).map((e) => e.revision), [0, 1]);
    });

    it('commits many concurrent appends to different streams, each acknowledged once', async () => {
      const streams = Array.from({ length: 50 }, stream);
      const results = await Promise.all(streams.map((s) => store.append(s, [event()], 'no_stream')));
      assert.equal(new Set(results.map((r) => r.position)).size, 50);
      for (const s of streams) assert.equal((await store.readStream(s)).length, 1);
    });

    it('reads all in global order with positions increasing past `after`', async () => {
      const start = await store.headPosition();
      const a = stream();
      const b = stream();
      await store.append(a, [event('MessageSent', { k: 'a0' })], 'no_stream');
      await store.append(b, [event('MessageSent', { k: 'b0' })], 'no_stream');
      await store.append(a, [event('MessageSent', { k: 'a1' })], 0);
      const all = (await readAllFrom(store, start)).filter((e) => e.streamId === a || e.streamId === b);
      assert.deepEqual(all.map((e) => (e.data as { k: string }).k), ['a0', 'b0', 'a1']);
      for (let i = 1; i < all.length; i++) assert.ok(all[i]!.position > all[i - 1]!.position);
      assert.ok(all[0]!.position > start);
      const rest = (await store.readAll(all[0]!.position, 100)).filter((e) => e.streamId === a || e.streamId === b);
      assert.deepEqual(rest.map((e) => (e.data as { k: string }).k), ['b0', 'a1']);
      assert.ok((await store.headPosition()) >= all[2]!.position);
    });

    it('positions only compare: strictly increasing, and a position from a read resumes a read after or from it', async () => {
      const start = await store.headPosition();
      const s = stream();
      await store.append(s, Array.from({ length: 5 }, (_, i) => event('MessageSent', { i })), 'no_stream');
      const ours = (events: RecordedEvent[]) => events.filter((e) => e.streamId === s).map((e) => (e.data as { i: number }).i);
      const all = (await readAllFrom(store, start)).filter((e) => e.streamId === s);
      assert.deepEqual(ours(all), [0, 1, 2, 3, 4]);
      for (let i = 1; i < all.length; i++) assert.ok(all[i]!.position > all[i - 1]!.position);
      const third = all[2]!.position;
      assert.deepEqual(ours(await store.readAll(third, 100)), [3, 4]);
      assert.deepEqual(ours(await store.readAllFrom(third, 100)), [2, 3, 4]);
      assert.deepEqual((await store.readAllFrom(third, 1)).map((e) => e.position), [third]);
    });

    it('counts the events after a position, stopping at the limit', async () => {
      const s = stream();
      await store.append(s, Array.from({ length: 5 }, () => event()), 'no_stream');
      const [first] = await store.readStream(s);
      const after = await store.readAll(first!.position, 1000);
      assert.ok(after.length >= 4);
      assert.equal(await store.countAfter(first!.position, 1000), after.length);
      assert.equal(await store.countAfter(first!.position, 3), 3);
      assert.equal(await store.countAfter(await store.headPosition(), 10), 0);
    });

    it('subscribes to all: catch-up first, then live, in order and exactly once', async () => {
      const start = await store.headPosition();
      const s = stream();
      await store.append(s, [event('MessageSent', { i: 0 }), event('MessageSent', { i: 1 })], 'no_stream');
      const seen: number[] = [];
      const positions: number[] = [];
      let notify: () => void = () => {};
      const sub = store.subscribeAll({ after: start }, (batch) => {
        for (const e of batch) {
          positions.push(e.position);
          if (e.streamId === s) seen.push((e.data as { i: number }).i);
        }
        notify();
      });
      const waitFor = (n: number) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`saw ${seen.length} of ${n} events`)), 10_000);
          notify = () => {
            if (seen.length >= n) {
              clearTimeout(timer);
              resolve();
            }
          };
          notify();
        });
      await waitFor(2);
      await store.append(s, [event('MessageSent', { i: 2 })], 1);
      await store.append(s, [event('MessageSent', { i: 3 }), event('MessageSent', { i: 4 })], 2);
      await waitFor(5);
      await sub.close();
      assert.deepEqual(seen, [0, 1, 2, 3, 4]);
      assert.deepEqual(positions, [...positions].sort((x, y) => x - y));
      assert.equal(new Set(positions).size, positions.length);
    });

    it('a subscription resumes after a checkpoint without repeating it', async () => {
      const s = stream();
      await store.append(s, [event('MessageSent', { i: 0 }), event('MessageSent', { i: 1 }), event('MessageSent', { i: 2 })], 'no_stream');
      const [, second] = await store.readStream(s);
      const seen: number[] = [];
      await new Promise<void>((resolve) => {
        const sub = store.subscribeAll({ after: second!.position }, (batch) => {
          for (const e of batch) if (e.streamId === s) seen.push((e.data as { i: number }).i);
          if (seen.length >= 1) void sub.close().then(resolve);
        });
      });
      assert.deepEqual(seen, [2]);
    });
  });
}

const withId = (e: EventToAppend, eventId: string): EventToAppend => ({ ...e, metadata: { ...e.metadata, eventId } });

/** A name-based (version 5) UUID, as RFC 9562 derives it: SHA-1 of a namespace and the name. */
function uuidV5(name: string): string {
  const namespace = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex'); // the URL namespace
  const bytes = createHash('sha1').update(namespace).update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return formatUuid(bytes);
}

/** A time-ordered (version 7) UUID: 48 bits of Unix milliseconds, then random bits. */
function uuidV7(): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return formatUuid(bytes);
}

const formatUuid = (bytes: Buffer) => bytes.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

async function readAllFrom(store: EventStore, after: number): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readAll(after, 500);
    if (page.length === 0) return out;
    out.push(...page);
    after = page[page.length - 1]!.position;
  }
}
