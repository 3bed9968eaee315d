import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, it, mock } from 'node:test';
import {
  ANY,
  AccessDeniedError,
  CancelledError,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NO_STREAM,
  NotLeaderError,
  START,
  STREAM_EXISTS,
  StreamDeletedError,
  TimeoutError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendToStreamOptions,
  type EventData,
  type EventStoreDBClient,
  type ReadAllOptions,
  type ReadStreamOptions,
  type SubscribeToAllOptions,
} from '@eventstore/db-client';
import { DomainError, WrongExpectedRevision } from '../domain/errors.js';
import { PRODUCT_STREAM_PREFIXES } from '../domain/streams.js';
import { EsdbEventStore, toEsdbExpected, type EsdbEventStoreOptions } from './esdb.js';
import { translateError } from './esdbErrors.js';
import { toEsdbPosition } from './esdbPosition.js';
import type { SkippedRecord } from './esdbRecords.js';
import type { EventToAppend, RecordedEvent } from './port.js';

/**
 * The adapter's own logic, without a server: the subscription is driven through a stand-in for the
 * client's `subscribeToAll` (an object-mode stream with `unsubscribe`, as the client returns). The
 * behaviour against a real EventStoreDB is the contract suite's job (test/contract, with ESDB_URL).
 */
class FakeSubscription extends PassThrough {
  unsubscribed = false;
  constructor(readonly options: SubscribeToAllOptions) {
    super({ objectMode: true });
  }
  async unsubscribe(): Promise<void> {
    this.unsubscribed = true;
    this.destroy();
  }
}

/** A finished or endless streaming read, as the client's `readStream` and `readAll` return. */
class FakeRead extends PassThrough {
  cancelled = false;
  constructor(items: AllStreamResolvedEvent[] | 'never ends') {
    super({ objectMode: true });
    if (items === 'never ends') return;
    for (const item of items) this.write(item);
    this.end();
  }
  async cancel(): Promise<void> {
    this.cancelled = true;
  }
}

interface FakeServer {
  appendToStream?(streamName: string, events: EventData[], options: AppendToStreamOptions): Promise<unknown>;
  readStream?(streamName: string, options: ReadStreamOptions): FakeRead;
  readAll?(options: ReadAllOptions): FakeRead;
}

function fakeClient(server: FakeServer = {}) {
  const subscriptions: FakeSubscription[] = [];
  const client = {
    ...server,
    subscribeToAll(options: SubscribeToAllOptions) {
      const subscription = new FakeSubscription(options);
      subscriptions.push(subscription);
      return subscription;
    },
  } as unknown as EventStoreDBClient;
  return { client, subscriptions };
}

const resolvedAt = (offset: bigint, streamId = 'conversation-c1', revision = offset, id: string = randomUUID()): AllStreamResolvedEvent => ({
  event: {
    streamId,
    id,
    isJson: true,
    revision,
    type: 'MessageSent',
    created: new Date(),
    data: { offset: Number(offset) },
    metadata: { originDc: 'dc1', correlationId: 'c', causationId: 'c', at: '2026-01-01T00:00:00.000Z', schemaVersion: 1 },
    position: { commit: offset, prepare: offset },
  },
  commitPosition: offset,
});

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('EventStoreDB adapter: subscription', () => {
  it('subscribes to $all from the start, filtered by the server to the product stream prefixes', async () => {
    const { client, subscriptions } = fakeClient();
    const sub = new EsdbEventStore(client).subscribeAll({ after: 0 }, () => {});
    const options = subscriptions[0]!.options;
    assert.equal(options.fromPosition, START);
    assert.deepEqual(options.filter && 'prefixes' in options.filter ? options.filter.prefixes : null, [...PRODUCT_STREAM_PREFIXES]);
    await sub.close();
  });

  it('hands events over in order, in batches, pausing the stream while a handler runs', async () => {
    const { client, subscriptions } = fakeClient();
    const batches: number[][] = [];
    let running = 0;
    let gate = deferred();
    const sub = new EsdbEventStore(client).subscribeAll({ after: 0 }, async (batch) => {
      running += 1;
      assert.equal(running, 1, 'handlers overlap');
      batches.push(batch.map((e) => e.position));
      await gate.promise;
      running -= 1;
    });
    const stream = subscriptions[0]!;
    for (const offset of [100n, 200n, 300n]) stream.write(resolvedAt(offset));
    await until(() => batches.length === 1, 'the first batch');
    assert.equal(stream.isPaused(), true);
    stream.write(resolvedAt(400n));
    stream.write(resolvedAt(500n));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(batches.length, 1, 'the next batch waits for the handler');
    const first = gate;
    gate = deferred();
    first.resolve();
    await until(() => batches.length === 2, 'the second batch');
    gate.resolve();
    assert.deepEqual(batches, [[101, 201, 301], [401, 501]]);
    await sub.close();
  });

  it('after a failed handler, reports the error and resubscribes after the last handled position', async () => {
    const { client, subscriptions } = fakeClient();
    const handled: number[] = [];
    const errors: unknown[] = [];
    let failNext = false;
    const sub = new EsdbEventStore(client).subscribeAll({ after: 0, onError: (e) => errors.push(e) }, (batch) => {
      if (failNext) {
        failNext = false;
        throw new Error('projection write failed');
      }
      handled.push(...batch.map((e) => e.position));
    });
    subscriptions[0]!.write(resolvedAt(10n));
    await until(() => handled.length === 1, 'the first event');
    failNext = true;
    subscriptions[0]!.write(resolvedAt(20n));
    await until(() => subscriptions.length === 2, 'a new subscription');
    assert.equal(subscriptions[0]!.unsubscribed, true);
    assert.deepEqual(errors.map((e) => (e as Error).message), ['projection write failed']);
    assert.deepEqual(subscriptions[1]!.options.fromPosition, toEsdbPosition(11));
    subscriptions[1]!.write(resolvedAt(20n));
    await until(() => handled.length === 2, 'the retried event');
    assert.deepEqual(handled, [11, 21]);
    await sub.close();
  });

  it('when the connection drops, resubscribes after the last handled position with backoff', async () => {
    const { client, subscriptions } = fakeClient();
    const handled: number[] = [];
    const errors: unknown[] = [];
    const sub = new EsdbEventStore(client).subscribeAll({ after: 5, onError: (e) => errors.push(e) }, (batch) => {
      handled.push(...batch.map((e) => e.position));
    });
    assert.deepEqual(subscriptions[0]!.options.fromPosition, toEsdbPosition(5));
    subscriptions[0]!.write(resolvedAt(7n));
    await until(() => handled.length === 1, 'the first event');
    const dropped = new UnavailableError();
    subscriptions[0]!.destroy(dropped);
    await until(() => subscriptions.length === 2, 'a new subscription');
    assert.deepEqual(errors, [dropped]);
    assert.deepEqual(subscriptions[1]!.options.fromPosition, toEsdbPosition(8));
    subscriptions[1]!.end();
    await until(() => subscriptions.length === 3, 'a subscription after the server ended the call');
    assert.match((errors[1] as Error).message, /ended the \$all subscription/);
    assert.deepEqual(subscriptions[2]!.options.fromPosition, toEsdbPosition(8));
    await sub.close();
  });

  it('close waits for the running handler, unsubscribes and does not subscribe again', async () => {
    const { client, subscriptions } = fakeClient();
    const gate = deferred();
    let finished = false;
    const sub = new EsdbEventStore(client).subscribeAll({ after: 0 }, async () => {
      await gate.promise;
      finished = true;
    });
    subscriptions[0]!.write(resolvedAt(1n));
    await new Promise((r) => setTimeout(r, 20));
    let closed = false;
    const closing = sub.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(closed, false);
    gate.resolve();
    await closing;
    assert.equal(finished, true);
    assert.equal(subscriptions[0]!.unsubscribed, true);
    assert.equal(subscriptions.length, 1);
  });

  it('can be closed from inside its own handler', async () => {
    const { client, subscriptions } = fakeClient();
    const seen: RecordedEvent[] = [];
    await new Promise<void>((resolve) => {
      const sub = new EsdbEventStore(client).subscribeAll({ after: 0 }, (batch) => {
        seen.push(...batch);
        void sub.close().then(resolve);
      });
      subscriptions[0]!.write(resolvedAt(3n));
    });
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]!.metadata.eventId.length, 36);
  });
});

describe('EventStoreDB adapter: expected revisions and errors', () => {
  it('maps expected revisions to the client constants and bigint revisions', () => {
    assert.equal(toEsdbExpected('any'), ANY);
    assert.equal(toEsdbExpected('no_stream'), NO_STREAM);
    assert.equal(toEsdbExpected('stream_exists'), STREAM_EXISTS);
    assert.equal(toEsdbExpected(0), 0n);
    assert.equal(toEsdbExpected(41), 41n);
  });

  it('turns a wrong expected version into WrongExpectedRevision with the actual revision', () => {
    const existing = translateError(
      new WrongExpectedVersionError(undefined, { streamName: 'conversation-x', expected: 0n, current: 3n }),
      'conversation-x',
      0,
    );
    assert.ok(existing instanceof WrongExpectedRevision);
    assert.equal(existing.streamId, 'conversation-x');
    assert.equal(existing.expected, 0);
    assert.equal(existing.actual, 3);
    const missing = translateError(
      new WrongExpectedVersionError(undefined, { streamName: 'conversation-y', expected: STREAM_EXISTS, current: NO_STREAM }),
      'conversation-y',
      'stream_exists',
    );
    assert.ok(missing instanceof WrongExpectedRevision);
    assert.equal(missing.actual, -1);
  });

  it('reports an unreachable server as unavailable, and passes other errors on', () => {
    const unreachable = translateError(new UnavailableError());
    assert.ok(unreachable instanceof DomainError);
    assert.equal(unreachable.code, 'unavailable');
    const raw = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
    assert.equal((translateError(raw) as DomainError).code, 'unavailable');
    const other = new Error('boom');
    assert.equal(translateError(other), other);
  });

  it('reports what a restarting server produces as unavailable, worth retrying', () => {
    const restarting = [
      new CancelledError(),
      new UnknownError(),
      new TimeoutError(),
      new DeadlineExceededError(),
      notLeader(),
      Object.assign(new Error('13 INTERNAL: Received RST_STREAM'), { code: 13 }),
      new Error('Failed to discover after 10 attempts.'),
    ];
    for (const error of restarting) {
      const translated = translateError(error);
      assert.ok(translated instanceof DomainError && translated.code === 'unavailable', `${error.constructor.name}: ${String(translated)}`);
      assert.equal(translated.cause, error);
    }
  });

  it('reports a deleted stream, refused credentials and an oversized append as what they are', () => {
    const deleted = translateError(StreamDeletedError.fromStreamName('conversation-gone'));
    assert.ok(deleted instanceof DomainError);
    assert.equal(deleted.code, 'not_found');
    assert.match(deleted.message, /conversation-gone has been deleted/);
    assert.equal((translateError(new AccessDeniedError()) as DomainError).code, 'misconfigured');
    assert.equal((translateError(MaxAppendSizeExceededError.fromMaxAppendSize(1024)) as DomainError).code, 'too_large');
  });
});

/** NotLeaderError reads the leader's address from the gRPC metadata it is built from. */
const notLeader = () =>
  new NotLeaderError(
    Object.assign(new Error('Leader info available'), {
      code: 5,
      details: 'Leader info available',
      metadata: { getMap: () => ({ 'leader-endpoint-host': 'node2', 'leader-endpoint-port': '2113' }) },
    }) as unknown as ConstructorParameters<typeof NotLeaderError>[0],
  );

const toAppend = (): EventToAppend => ({
  type: 'MessageSent',
  data: { text: 'hi' },
  metadata: { eventId: randomUUID(), originDc: 'dc1', correlationId: 'c', causationId: 'c', at: '2026-01-01T00:00:00.000Z', schemaVersion: 1 },
});

/** A server that answers `appendToStream` with each of `replies` in turn; the last event sent reads back at offset 900. */
function appendingServer(replies: (Error | bigint)[]) {
  const sent: { ids: string[]; expectedRevision: unknown }[] = [];
  const server: FakeServer = {
    async appendToStream(_stream, events, options) {
      sent.push({ ids: events.map((e) => e.id), expectedRevision: options.expectedRevision });
      const reply = replies.shift()!;
      if (reply instanceof Error) throw reply;
      return { success: true, nextExpectedRevision: reply, position: undefined };
    },
    readStream(stream, options) {
      const id = sent[sent.length - 1]!.ids.at(-1)!;
      return new FakeRead([resolvedAt(900n, stream, options.fromRevision as bigint, id)]);
    },
  };
  return { server, sent };
}

const quick: EsdbEventStoreOptions = { appendRetryDelayMs: 0 };

describe('EventStoreDB adapter: appends whose outcome is unknown', () => {
  it('re-sends with the same ids and expected revision until the server answers, and returns that answer', async () => {
    const { server, sent } = appendingServer([new DeadlineExceededError(), new CancelledError(), 4n]);
    const store = new EsdbEventStore(fakeClient(server).client, quick);
    const events = [toAppend(), toAppend()];
    const result = await store.append('conversation-c1', events, 2);
    assert.deepEqual(result, { nextExpectedRevision: 4, position: 901 });
    assert.equal(sent.length, 3);
    for (const attempt of sent) {
      assert.deepEqual(attempt.ids, events.map((e) => e.metadata.eventId));
      assert.equal(attempt.expectedRevision, 2n);
    }
  });

  it('after the last attempt, fails with unavailable saying the outcome is unknown', async () => {
    const { server, sent } = appendingServer([new UnavailableError(), new DeadlineExceededError(), new UnknownError()]);
    const store = new EsdbEventStore(fakeClient(server).client, quick);
    await assert.rejects(store.append('conversation-c1', [toAppend()], 'no_stream'), (e: unknown) => {
      assert.ok(e instanceof DomainError && e.code === 'unavailable');
      assert.match(e.message, /outcome is unknown/);
      return true;
    });
    assert.equal(sent.length, 3);
  });

  it('says nothing was stored when every attempt was refused before writing', async () => {
    const { server } = appendingServer([notLeader(), notLeader(), notLeader()]);
    const store = new EsdbEventStore(fakeClient(server).client, quick);
    await assert.rejects(store.append('conversation-c1', [toAppend()], 0), /nothing was stored/);
  });

  it('does not re-send a conflict', async () => {
    const conflict = new WrongExpectedVersionError(undefined, { streamName: 'conversation-c1', expected: 0n, current: 3n });
    const { server, sent } = appendingServer([conflict]);
    const store = new EsdbEventStore(fakeClient(server).client, quick);
    await assert.rejects(store.append('conversation-c1', [toAppend()], 0), WrongExpectedRevision);
    assert.equal(sent.length, 1);
  });

  it('gives up on an attempt the server never answers, within the append timeout', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let calls = 0;
      const server: FakeServer = {
        appendToStream: () => (++calls === 1 ? new Promise(() => {}) : Promise.resolve({ success: true, nextExpectedRevision: 0n })),
        readStream: () => new FakeRead([]),
      };
      const store = new EsdbEventStore(fakeClient(server).client, { appendTimeoutMs: 1000, appendRetryDelayMs: 0 });
      const appending = store.append('conversation-c1', [toAppend()], 'no_stream');
      await settleMicrotasks();
      mock.timers.tick(1000);
      await settleMicrotasks();
      mock.timers.tick(0);
      assert.deepEqual(await appending, { nextExpectedRevision: 0, position: 0 });
      assert.equal(calls, 2);
    } finally {
      mock.timers.reset();
    }
  });

  it('waits appendRetryDelayMs before the second attempt, doubled before each further one', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    try {
      const sentAt: number[] = [];
      const replies: (Error | bigint)[] = [new UnavailableError(), new UnavailableError(), 0n];
      const server: FakeServer = {
        appendToStream: async () => {
          sentAt.push(Date.now());
          const reply = replies.shift()!;
          if (reply instanceof Error) throw reply;
          return { success: true, nextExpectedRevision: reply };
        },
        readStream: () => new FakeRead([]),
      };
      const store = new EsdbEventStore(fakeClient(server).client, { appendRetryDelayMs: 300 });
      const appending = store.append('conversation-c1', [toAppend()], 'no_stream');
      for (const wait of [300, 600]) {
        await new Promise((resolve) => setImmediate(resolve));
        mock.timers.tick(wait - 1);
        await new Promise((resolve) => setImmediate(resolve));
        const before = sentAt.length;
        mock.timers.tick(1);
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(sentAt.length, before + 1, `re-sent after ${wait} ms`);
      }
      await appending;
      assert.deepEqual(sentAt, [0, 300, 900]);
    } finally {
      mock.timers.reset();
    }
  });

  it('reports a stored append whose read-back failed as stored, at an unknown position', async () => {
    const server: FakeServer = {
      appendToStream: async () => ({ success: true, nextExpectedRevision: 0n }),
      readStream: () => {
        const read = new FakeRead('never ends');
        setImmediate(() => read.destroy(new UnavailableError()));
        return read;
      },
    };
    const store = new EsdbEventStore(fakeClient(server).client, quick);
    assert.deepEqual(await store.append('conversation-c1', [toAppend()], 'no_stream'), { nextExpectedRevision: 0, position: 0 });
  });

  it('refuses an invalid expected revision or event id before sending anything', async () => {
    const { server, sent } = appendingServer([0n]);
    const store = new EsdbEventStore(fakeClient(server).client, quick);
    await assert.rejects(store.append('conversation-c1', [toAppend()], -1), /not an expected revision/);
    await assert.rejects(store.append('conversation-c1', [{ ...toAppend(), metadata: { ...toAppend().metadata, eventId: 'e1' } }], 0), /lower-case UUID/);
    assert.equal(sent.length, 0);
  });
});

describe('EventStoreDB adapter: reads', () => {
  it('fails a read the server does not finish in time with unavailable, and cancels it', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const read = new FakeRead('never ends');
      const store = new EsdbEventStore(fakeClient({ readStream: () => read }).client, { readTimeoutMs: 2000 });
      const reading = store.readStream('conversation-c1');
      mock.timers.tick(2000);
      await assert.rejects(reading, (e: unknown) => e instanceof DomainError && e.code === 'unavailable' && /within 2000 ms/.test(e.message));
      assert.equal(read.cancelled, true);
    } finally {
      mock.timers.reset();
    }
  });

  it('bounds headPosition by the read timeout too', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const store = new EsdbEventStore(fakeClient({ readAll: () => new FakeRead('never ends') }).client, { readTimeoutMs: 500 });
      const head = store.headPosition();
      mock.timers.tick(500);
      await assert.rejects(head, (e: unknown) => e instanceof DomainError && e.code === 'unavailable');
    } finally {
      mock.timers.reset();
    }
  });

  it('reads $all in pages large enough to pass over other streams without a round trip each', async () => {
    const asked: bigint[] = [];
    const records = [resolvedAt(10n, '$stats-127.0.0.1'), resolvedAt(20n, 'other-app'), resolvedAt(30n), resolvedAt(40n)];
    const store = new EsdbEventStore(
      fakeClient({
        readAll: (options) => {
          asked.push(BigInt(options.maxCount!));
          return new FakeRead(records);
        },
      }).client,
    );
    assert.deepEqual((await store.readAll(0, 1)).map((e) => e.position), [31]);
    assert.equal(asked.length, 1);
    assert.ok(asked[0]! >= 100n);
  });

  it('refuses an event without a reported $all position instead of numbering it 1', async () => {
    const unpositioned = resolvedAt(0n);
    const store = new EsdbEventStore(fakeClient({ readStream: () => new FakeRead([unpositioned]) }).client);
    await assert.rejects(store.readStream('conversation-c1'), (e: unknown) => e instanceof DomainError && e.code === 'misconfigured');
  });
});

/** The record a hard delete leaves in `$all`, under the deleted stream's own name. */
const tombstoneAt = (offset: bigint): AllStreamResolvedEvent => ({
  event: {
    streamId: 'conversation-c1',
    id: randomUUID(),
    isJson: false,
    revision: 2n ** 63n - 1n,
    type: '$streamDeleted',
    created: new Date(),
    data: new Uint8Array(),
    metadata: new Uint8Array(),
    position: { commit: offset, prepare: offset },
  },
  commitPosition: offset,
});

describe('EventStoreDB adapter: records that are not product events', () => {
  it('the subscription passes over a tombstone, reports it, and delivers what follows', async () => {
    const skipped: SkippedRecord[] = [];
    const { client, subscriptions } = fakeClient();
    const handled: number[] = [];
    const errors: unknown[] = [];
    const sub = new EsdbEventStore(client, { onSkippedRecord: (r) => skipped.push(r) }).subscribeAll(
      { after: 0, onError: (e) => errors.push(e) },
      (batch) => void handled.push(...batch.map((e) => e.position)),
    );
    subscriptions[0]!.write(tombstoneAt(50n));
    subscriptions[0]!.write(resolvedAt(60n));
    await until(() => handled.length === 1, 'the event after the tombstone');
    assert.deepEqual(handled, [61]);
    assert.deepEqual(errors, []);
    assert.equal(subscriptions.length, 1);
    assert.deepEqual(skipped, [
      { reason: 'tombstone', streamId: 'conversation-c1', type: '$streamDeleted', revision: String(2n ** 63n - 1n), position: '50/50' },
    ]);
    await sub.close();
  });

  it('readAll and headPosition pass over a tombstone and an unreadable record', async () => {
    const binary = resolvedAt(40n);
    binary.event = { ...binary.event!, isJson: false, data: new Uint8Array([1]) } as typeof binary.event;
    const skipped: string[] = [];
    const records = [resolvedAt(30n), binary, tombstoneAt(50n)];
    const store = new EsdbEventStore(
      fakeClient({
        readAll: (options) => new FakeRead(options.direction === 'backwards' ? [...records].reverse() : records),
      }).client,
      { onSkippedRecord: (r) => skipped.push(r.reason) },
    );
    assert.deepEqual((await store.readAll(0, 10)).map((e) => e.position), [31]);
    assert.deepEqual(skipped, ['unreadable', 'tombstone']);
    assert.equal(await store.headPosition(), 31);
  });
});

describe('EventStoreDB adapter: reading and counting from a position', () => {
  /** A log as the server serves it: a forward read includes the record at `fromPosition`. */
  function logOf(records: AllStreamResolvedEvent[], options: EsdbEventStoreOptions = {}) {
    const reads: ReadAllOptions[] = [];
    const readAll = (options: ReadAllOptions) => {
      reads.push(options);
      const from = options.fromPosition === START || options.fromPosition === undefined ? -1n : (options.fromPosition as { commit: bigint }).commit;
      return new FakeRead(records.filter((r) => r.event!.position!.commit >= from).slice(0, Number(options.maxCount)));
    };
    return { store: new EsdbEventStore(fakeClient({ readAll }).client, options), reads };
  }
  const records = [resolvedAt(100n), resolvedAt(250n, 'other-app'), resolvedAt(300n), resolvedAt(420n), resolvedAt(777n)];

  it('reads from an event position inclusive, and after it exclusive, asking the server for that exact record', async () => {
    const { store, reads } = logOf(records);
    const at300 = toEsdbPosition(301);
    assert.deepEqual((await store.readAllFrom(301, 10)).map((e) => e.position), [301, 421, 778]);
    assert.deepEqual(reads[0]!.fromPosition, at300);
    assert.deepEqual((await store.readAll(301, 10)).map((e) => e.position), [421, 778]);
    assert.deepEqual((await store.readAllFrom(301, 1)).map((e) => e.position), [301]);
  });

  it('counts the product events after a position, up to the limit, without reporting skipped records again', async () => {
    const skipped: string[] = [];
    const { store } = logOf([...records, tombstoneAt(800n)], { onSkippedRecord: (r) => skipped.push(r.reason) });
    assert.equal(await store.countAfter(0, 100), 4);
    assert.equal(await store.countAfter(101, 100), 3);
    assert.equal(await store.countAfter(101, 2), 2);
    assert.equal(await store.countAfter(778, 100), 0);
    assert.deepEqual(skipped, []);
  });
});

/** Lets promise continuations queued so far run, without letting time pass. */
async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
