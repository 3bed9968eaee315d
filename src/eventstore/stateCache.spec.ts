import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evolveConversation } from '../domain/conversation.js';
import { conversationStream } from '../domain/streams.js';
import { CONVERSATION_ID, conversationStore, freshFold, sentBy } from '../../test/support/conversationStore.js';
import { newConversationCache } from '../server.js';

const stream = conversationStream(CONVERSATION_ID);

/** A snapshot someone holds (and a copy of it as it was) while another writer appends two messages. */
async function snapshotHeldWhileTwoMoreArrive() {
  const store = await conversationStore();
  const cache = newConversationCache(store);
  const held = await cache.load(CONVERSATION_ID);
  const heldBefore = structuredClone(held.state);
  await store.append(stream, [sentBy('ben', 'one'), sentBy('ann', 'two')], 0);
  return { store, cache, held, heldBefore };
}

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

  it('hands out frozen snapshots: evolving one in place fails loudly instead of changing the cache', async () => {
    const store = await conversationStore();
    const cache = newConversationCache(store);
    const loaded = await cache.load(CONVERSATION_ID);

    assert.ok(Object.isFrozen(loaded.state));
    const event = sentBy('ann', 'never stored');
    assert.throws(() => evolveConversation(loaded.state, { type: 'MessageSent', data: event.data } as never, 1, event.metadata.at), TypeError);
    assert.deepEqual((await cache.load(CONVERSATION_ID)).state, await freshFold(store));
  });

  it('never changes a snapshot it handed out when it folds in newer events', async () => {
    const { store, cache, held, heldBefore } = await snapshotHeldWhileTwoMoreArrive();
    const newer = await cache.load(CONVERSATION_ID);

    assert.equal(newer.state.messageSeqs.length, 2);
    assert.deepEqual(held.state, heldBefore);
  });

  it('follows the feed without changing a snapshot that load handed out', async () => {
    const { store, cache, held, heldBefore } = await snapshotHeldWhileTwoMoreArrive();
    const [first, second] = await store.readStream(stream, { fromRevision: 1 });
    await cache.after(CONVERSATION_ID, first!);
    const afterSecond = await cache.after(CONVERSATION_ID, second!);

    assert.deepEqual(held.state, heldBefore);
    assert.deepEqual(afterSecond, await freshFold(store));
    assert.deepEqual((await cache.load(CONVERSATION_ID)).state, afterSecond);
  });
});
