import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConversationCommand } from '../domain/commands.js';
import { conversationStream } from '../domain/streams.js';
import type { EventStore, EventToAppend, ExpectedRevision } from '../eventstore/port.js';
import { CONVERSATION_ID, conversationStore, freshFold, sentBy } from '../../test/support/conversationStore.js';
import { newConversationCache } from '../server.js';
import { CommandHandler } from './commandHandler.js';
import { conversationDecider } from './conversation.decider.js';

const stream = conversationStream(CONVERSATION_ID);
const context = { correlationId: 'test' };
const send = (text: string, clientMsgId = text): ConversationCommand => ({ type: 'sendMessage', senderId: 'ann', messageId: `m-${clientMsgId}`, clientMsgId, text });

/** The real store with a hook that runs before each append reaches it (the append count is its argument). */
function withAppendHook(store: EventStore, beforeAppend: (count: number) => Promise<void> | void): EventStore {
  let appends = 0;
  return Object.assign(Object.create(store) as EventStore, {
    async append(streamId: string, events: EventToAppend[], expected: ExpectedRevision) {
      await beforeAppend(++appends);
      return store.append(streamId, events, expected);
    },
  });
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
    let appends = 0;
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const { store, handler } = await handlerOver((real) =>
      withAppendHook(real, async (count) => {
        appends = count;
        if (count === 1) await firstHeld;
      }),
    );

    const first = handler.execute(CONVERSATION_ID, send('first'), context);
    // A fence: once the first append is under way, every later command waits for the next batch.
    while (appends === 0) await new Promise((resolve) => setImmediate(resolve));
    const queued = Array.from({ length: 9 }, (_, i) => handler.execute(CONVERSATION_ID, send(`queued ${i}`), context));
    releaseFirst();
    const outcomes = await Promise.all([first, ...queued]);

    assert.equal(appends, 2);
    assert.deepEqual(
      outcomes.map((o) => o.events.map((e) => e.seq)),
      Array.from({ length: 10 }, (_, i) => [i + 1]),
    );
    assert.equal((await store.readStream(stream)).length, 11);
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
    assert.deepEqual(stored.map((e) => (e.data as { text?: string }).text), [undefined, 'from another instance', 'mine']);
    assert.deepEqual((await cache.load(CONVERSATION_ID)).state, await freshFold(store));
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
