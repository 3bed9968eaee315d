import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import {
  ANY,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  UnavailableError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type EventStoreDBClient,
  type SubscribeToAllOptions,
} from '@eventstore/db-client';
import { DomainError, WrongExpectedRevision } from '../domain/errors.js';
import { PRODUCT_STREAM_PREFIXES } from '../domain/streams.js';
import { EsdbEventStore, toEsdbExpected, translateError } from './esdb.js';
import { toEsdbPosition } from './esdbPosition.js';
import type { RecordedEvent } from './port.js';

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

function fakeClient() {
  const subscriptions: FakeSubscription[] = [];
  const client = {
    subscribeToAll(options: SubscribeToAllOptions) {
      const subscription = new FakeSubscription(options);
      subscriptions.push(subscription);
      return subscription;
    },
  } as unknown as EventStoreDBClient;
  return { client, subscriptions };
}

const resolvedAt = (offset: bigint, streamId = 'conversation-c1'): AllStreamResolvedEvent => ({
  event: {
    streamId,
    id: randomUUID(),
    isJson: true,
    revision: offset,
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
});
