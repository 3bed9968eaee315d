import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConversationEvent } from '../domain/events.js';
import { conversationStream } from '../domain/streams.js';
import { CONVERSATION_ID, conversationStore, freshFold, sentBy } from '../../test/support/conversationStore.js';
import { newConversationCache } from '../server.js';
import { copyState } from './stateCache.js';

const stream = conversationStream(CONVERSATION_ID);

/** The events of an append as the command handler commits them. */
const asStored = (events: ReturnType<typeof sentBy>[], firstSeq: number) =>
  events.map((e, i) => ({ event: { type: e.type, data: e.data } as ConversationEvent, seq: firstSeq + i, at: e.metadata.at }));

describe('StateCache', () => {
  it('folds in what another writer appended since the cached revision', async () => {
    const store = await conversationStore();
    const cache = newConversationCache(store);
    assert.equal((await cache.load(CONVERSATION_ID)).revision, 0);

    await store.append(stream, [sentBy('ben', 'from another instance')], 0);

    const loaded = await cache.load(CONVERSATION_ID);
    assert.equal(loaded.revision, 1);
    assert.equal(loaded.state.lastMessage?.text, 'from another instance');
    assert.deepEqual(loaded.state, await freshFold(store));
  });

  it('commits an append once, also when a load already read it from the store', async () => {
    const store = await conversationStore();
    const cache = newConversationCache(store);
    await cache.load(CONVERSATION_ID);
    const events = [sentBy('ann', 'one'), sentBy('ben', 'two')];
    const { nextExpectedRevision } = await store.append(stream, events, 0);

    await cache.load(CONVERSATION_ID);
    cache.commit(CONVERSATION_ID, asStored(events, 1), nextExpectedRevision);

    const loaded = await cache.load(CONVERSATION_ID);
    assert.equal(loaded.state.messageSeqs.length, 2, 'each message once');
    assert.deepEqual(loaded.state, await freshFold(store));
  });

  it('drops a cached state that a commit cannot follow, and reads what it missed on the next load', async () => {
    const store = await conversationStore();
    const cache = newConversationCache(store);
    await cache.load(CONVERSATION_ID);
    await store.append(stream, [sentBy('ben', 'unseen')], 0);
    const mine = [sentBy('ann', 'mine')];
    const { nextExpectedRevision } = await store.append(stream, mine, 1);

    cache.commit(CONVERSATION_ID, asStored(mine, 2), nextExpectedRevision);

    assert.equal(cache.peek(CONVERSATION_ID), undefined);
    assert.deepEqual((await cache.load(CONVERSATION_ID)).state, await freshFold(store));
  });

  it('follows the feed event by event to the same state as a fresh fold', async () => {
    const store = await conversationStore();
    const cache = newConversationCache(store);
    await store.append(stream, [sentBy('ben', 'one'), sentBy('ann', 'two')], 0);
    const [created, first, second] = await store.readStream(stream);
    for (const e of [created!, first!]) await cache.after(CONVERSATION_ID, e);
    const afterSecond = await cache.after(CONVERSATION_ID, second!);

    assert.deepEqual(afterSecond, await freshFold(store));
    assert.deepEqual((await cache.load(CONVERSATION_ID)).state, afterSecond);
  });

  it('copies a state without sharing a collection or a record with it', async () => {
    const store = await conversationStore();
    await store.append(stream, [sentBy('ben', 'one')], 0);
    const state = await freshFold(store);
    const copy = copyState(state);

    assert.deepEqual(copy, state);
    copy.members.get('ann')!.readSeq = 99;
    copy.messageSeqs.push(7);
    copy.recent.clear();
    assert.deepEqual(state, await freshFold(store), 'the original is untouched');
  });
});
