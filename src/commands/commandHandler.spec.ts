import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConversationCommand } from '../domain/commands.js';
import { conversationStream } from '../domain/streams.js';
import { DomainError, WrongExpectedRevision } from '../domain/errors.js';
import type { EventStore, EventToAppend, ExpectedRevision, RecordedEvent } from '../eventstore/port.js';
import { CONVERSATION_ID, conversationStore, freshFold, sentBy } from '../../test/support/conversationStore.js';
import { newConversationCache } from '../server.js';
import { CommandHandler } from './commandHandler.js';
import { conversationDecider } from './conversation.decider.js';

const stream = conversationStream(CONVERSATION_ID);
const context = { correlationId: 'test' };
const send = (text: string, clientMsgId = text): ConversationCommand => ({ type: 'sendMessage', senderId: 'ann', messageId: `m-${clientMsgId}`, clientMsgId, text });

/** The real store with a hook that runs before each append reaches it (the append count and its events are its arguments). */
function withAppendHook(store: EventStore, beforeAppend: (count: number, events: EventToAppend[]) => Promise<void> | void): EventStore {
  let appends = 0;
  return Object.assign(Object.create(store) as EventStore, {
    async append(streamId: string, events: EventToAppend[], expected: ExpectedRevision) {
      await beforeAppend(++appends, events);
      return store.append(streamId, events, expected);
    },
  });
}

/**
 * An append's size as EventStoreDB counts it against MaxAppendSize (Streams.Append, Event.SizeOnDisk): the
 * data and metadata as the adapter sends them, JSON without the event id, plus twice the type's length.
 */
const sizeAsEventStoreDbCounts = (events: EventToAppend[]) =>
  events.reduce((total, { type, data, metadata: { eventId: _, ...rest } }) => {
    return total + 2 * type.length + Buffer.byteLength(JSON.stringify(data)) + Buffer.byteLength(JSON.stringify(rest));
  }, 0);

const textOf = (e: RecordedEvent) => (e.data as { text?: string }).text;

/** Holds the first append until released, so that the commands issued meanwhile queue up as one batch. */
function holdingFirstAppend(onAppend: (events: EventToAppend[]) => void = () => {}) {
  let appends = 0;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const decorate = (real: EventStore) =>
    withAppendHook(real, async (count, events) => {
      appends = count;
      onAppend(events);
      if (count === 1) await held;
    });
  const firstAppendStarted = async () => {
    while (appends === 0) await new Promise((resolve) => setImmediate(resolve));
  };
  return { decorate, firstAppendStarted, release, appends: () => appends };
}

async function handlerOver(decorate: (store: EventStore) => EventStore) {
  const store = await conversationStore();
  const decorated = decorate(store);
  const cache = newConversationCache(decorated);
  const handler = new CommandHandler(decorated, cache, conversationDecider, conversationStream, 'dc1');
  return { store, cache, handler };
}

describe('CommandHandler', () => {
  it('appends the commands that queued up for one stream while an append was running in one batch', async () => {
    const hold = holdingFirstAppend();
    const { store, handler } = await handlerOver(hold.decorate);

    const first = handler.execute(CONVERSATION_ID, send('first'), context);
    // A fence: once the first append is under way, every later command waits for the next batch.
    await hold.firstAppendStarted();
    const queued = Array.from({ length: 9 }, (_, i) => handler.execute(CONVERSATION_ID, send(`queued ${i}`), context));
    hold.release();
    const outcomes = await Promise.all([first, ...queued]);

    assert.equal(hold.appends(), 2);
    assert.deepEqual(
      outcomes.map((o) => o.events.map((e) => e.seq)),
      Array.from({ length: 10 }, (_, i) => [i + 1]),
    );
    assert.equal((await store.readStream(stream)).length, 11);
  });

  it('splits a batch too big for one append into several under the store\'s bound, keeping queue order', async () => {
    const appendSizes: number[] = [];
    const { store, handler } = await handlerOver((real) => withAppendHook(real, (_, events) => void appendSizes.push(sizeAsEventStoreDbCounts(events))));
    const texts = Array.from({ length: 40 }, (_, i) => `message ${i} `.padEnd(60 * 1024, 'x'));

    const outcomes = await Promise.all(texts.map((text, i) => handler.execute(CONVERSATION_ID, send(text, `big ${i}`), context)));

    assert.deepEqual(
      outcomes.map((o) => o.events.map((e) => e.seq)),
      texts.map((_, i) => [i + 1]),
    );
    // 40 × 60 KiB is over twice the bound: at least three appends, each under it.
    assert.ok(appendSizes.length >= 3, `${appendSizes.length} appends`);
    for (const size of appendSizes) assert.ok(size <= store.maxAppendBytes, `an append of ${size} bytes`);
    assert.deepEqual((await store.readStream(stream)).slice(1).map(textOf), texts);
  });

  it('decides a split batch again after a conflict, and still appends it in queue order', async () => {
    const appendSizes: number[] = [];
    const { store, handler } = await handlerOver((real) =>
      withAppendHook(real, async (count, events) => {
        appendSizes.push(sizeAsEventStoreDbCounts(events));
        if (count === 2) await real.append(stream, [sentBy('ben', 'from another instance')], 1);
      }),
    );
    const texts = Array.from({ length: 10 }, (_, i) => `message ${i} `.padEnd(200 * 1024, 'x'));

    const outcomes = await Promise.all(texts.map((text, i) => handler.execute(CONVERSATION_ID, send(text, `big ${i}`), context)));

    assert.deepEqual(
      outcomes.map((o) => o.events.map((e) => e.seq)),
      texts.map((_, i) => [i === 0 ? 1 : i + 2]),
    );
    for (const size of appendSizes) assert.ok(size <= store.maxAppendBytes, `an append of ${size} bytes`);
    assert.deepEqual((await store.readStream(stream)).slice(1).map(textOf), [texts[0], 'from another instance', ...texts.slice(1)]);
  });

  it('refuses a command whose events alone exceed one append as too_large, and appends the rest of its batch', async () => {
    const appendSizes: number[] = [];
    const hold = holdingFirstAppend((events) => appendSizes.push(sizeAsEventStoreDbCounts(events)));
    const { store, handler } = await handlerOver(hold.decorate);

    const first = handler.execute(CONVERSATION_ID, send('first'), context);
    await hold.firstAppendStarted();
    const before = handler.execute(CONVERSATION_ID, send('before'), context);
    const huge = handler.execute(CONVERSATION_ID, send('x'.repeat(store.maxAppendBytes), 'huge'), context);
    const after = handler.execute(CONVERSATION_ID, send('after'), context);
    hold.release();

    await assert.rejects(huge, (error) => error instanceof DomainError && error.code === 'too_large');
    const outcomes = await Promise.all([first, before, after]);
    assert.deepEqual(
      outcomes.map((o) => o.events.map((e) => e.seq)),
      [[1], [2], [3]],
    );
    assert.equal(hold.appends(), 2);
    for (const size of appendSizes) assert.ok(size <= store.maxAppendBytes, `an append of ${size} bytes`);
    assert.deepEqual((await store.readStream(stream)).slice(1).map(textOf), ['first', 'before', 'after']);
  });

  it('decides again against the stream after another writer appended between its load and its append', async () => {
    const { store, cache, handler } = await handlerOver((real) =>
      withAppendHook(real, async (count) => {
        if (count === 1) await real.append(stream, [sentBy('ben', 'from another instance')], 0);
      }),
    );

    const outcome = await handler.execute(CONVERSATION_ID, send('mine'), context);

    assert.deepEqual(outcome.events.map((e) => e.seq), [2]);
    const stored = await store.readStream(stream);
    assert.deepEqual(stored.map(textOf), [undefined, 'from another instance', 'mine']);
    assert.deepEqual((await cache.load(CONVERSATION_ID)).state, await freshFold(store));
  });

  it('gives up with the conflict after eight retries against a writer that always appends first', async () => {
    let appends = 0;
    const { store, handler } = await handlerOver((real) =>
      withAppendHook(real, async (count) => {
        appends = count;
        await real.append(stream, [sentBy('ben', `from another instance ${count}`)], 'any');
      }),
    );

    await assert.rejects(handler.execute(CONVERSATION_ID, send('mine'), context), WrongExpectedRevision);

    assert.equal(appends, 9);
    assert.ok(!(await store.readStream(stream)).some((e) => textOf(e) === 'mine'));
  });

  it('shows no one the events of an append that failed: not during it, not after it', async () => {
    let seenDuringAppend: number[] | null = null;
    const { store, cache, handler } = await handlerOver((real) =>
      withAppendHook(real, async (count) => {
        if (count !== 1) return;
        seenDuringAppend = [...(await cache.load(CONVERSATION_ID)).state.messageSeqs];
        throw new Error('disk full');
      }),
    );
    const held = await cache.load(CONVERSATION_ID);

    await assert.rejects(handler.execute(CONVERSATION_ID, send('lost'), context), /disk full/);

    assert.deepEqual(seenDuringAppend, []);
    assert.deepEqual(held.state.messageSeqs, []);
    assert.equal(held.state.lastMessage, null);
    const after = await cache.load(CONVERSATION_ID);
    assert.equal(after.revision, 0);
    assert.deepEqual(after.state, await freshFold(store));

    // The same command succeeds once the store accepts it: nothing of the failed one is left to dedupe against.
    const retried = await handler.execute(CONVERSATION_ID, send('lost'), context);
    assert.deepEqual(retried.events.map((e) => e.seq), [1]);
  });
});
