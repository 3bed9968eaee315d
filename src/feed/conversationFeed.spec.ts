import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { conversationStream } from '../domain/streams.js';
import type { SqliteEventStore } from '../eventstore/sqlite.js';
import { newConversationCache } from '../server.js';
import { CONVERSATION_ID, conversationStore, sentBy } from '../../test/support/conversationStore.js';
import { eventually } from '../../test/support/waits.js';
import { ConversationFeed, type ConversationCache, type FeedConsumer, type FeedItem } from './index.js';

const stream = conversationStream(CONVERSATION_ID);

/** What a consumer reads of an item's lent state, taken while it is current. */
const seen = (item: FeedItem) => ({ seq: item.recorded.revision, lastSeq: item.state?.lastSeq, messages: item.state?.messageSeqs.length });
type Seen = ReturnType<typeof seen>;

/** A consumer that records what it handled; while held, its handle waits. */
function recorder(name: string) {
  const handled: Seen[] = [];
  let release = () => {};
  let gate = Promise.resolve();
  const consumer: FeedConsumer<Seen> = {
    name,
    take: seen,
    handle: async (works) => {
      await gate;
      handled.push(...works);
    },
  };
  return {
    consumer,
    handled,
    hold: () => void (gate = new Promise((resolve) => (release = resolve))),
    release: () => release(),
    seqs: () => handled.map((s) => s.seq),
    /** Waits until the consumer handled the event at `seq` (a fence: everything before it came first). */
    reached: (seq: number) => eventually(`${name} to handle seq ${seq}`, async () => handled.at(-1)?.seq, (s) => s === seq),
  };
}

/** Every event once and in order, each with the state right after it. */
const inOrderOnce = (handled: Seen[], fromSeq: number, toSeq: number) => {
  const expected = [];
  for (let seq = fromSeq; seq <= toSeq; seq++) expected.push({ seq, lastSeq: seq, messages: seq });
  assert.deepEqual(handled, expected);
};

const appendMessages = async (store: SqliteEventStore, fromSeq: number, count: number) =>
  store.append(stream, Array.from({ length: count }, (_, i) => sentBy('ann', `m${fromSeq + i}`)), fromSeq - 1);

describe('ConversationFeed', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function startFeed(store: SqliteEventStore, maxQueuedItems?: number) {
    const caches: ConversationCache[] = [];
    let folds = 0;
    const newCache = () => {
      const cache = newConversationCache(store);
      caches.push(cache);
      return cache;
    };
    const feed = new ConversationFeed({ store, newCache, logger: pino({ level: 'silent' }), maxQueuedItems });
    const live = caches[0]!;
    const after = live.after.bind(live);
    live.after = (...args) => (folds++, after(...args));
    await feed.start();
    closers.push(() => feed.stop());
    const follow = (consumer: FeedConsumer<Seen>, after?: number, onError?: (e: unknown) => void) => {
      const subscription = feed.follow(consumer, { after, onError });
      closers.push(() => subscription.close());
    };
    return { feed, follow, folds: () => folds, caches };
  }

  it('folds each event once for all its consumers, lending each the state right after the event', async () => {
    const store = await conversationStore();
    const { follow, folds, caches } = await startFeed(store);
    const [a, b] = [recorder('a'), recorder('b')];
    follow(a.consumer);
    follow(b.consumer);

    // One append: the feed gets both messages in one batch, and each still comes with its own state.
    await appendMessages(store, 1, 2);
    await appendMessages(store, 3, 1);
    await Promise.all([a.reached(3), b.reached(3)]);

    inOrderOnce(a.handled, 1, 3);
    inOrderOnce(b.handled, 1, 3);
    assert.equal(folds(), 3, 'one fold per event');
    assert.equal(caches.length, 1, 'no catch-up read the store again');
  });

  it('delivers to a fast consumer while a slow one is still handling an older batch', async () => {
    const store = await conversationStore();
    const { follow } = await startFeed(store);
    const [slow, fast] = [recorder('slow'), recorder('fast')];
    slow.hold();
    follow(slow.consumer);
    follow(fast.consumer);

    await appendMessages(store, 1, 1);
    await appendMessages(store, 2, 1);
    await fast.reached(2);
    assert.deepEqual(slow.seqs(), []);

    slow.release();
    await slow.reached(2);
    inOrderOnce(slow.handled, 1, 2);
  });

  it('cuts loose a consumer whose queue overflows; it catches up from the store and rejoins', async () => {
    const store = await conversationStore();
    const { follow, caches } = await startFeed(store, 2);
    const [slow, fast] = [recorder('slow'), recorder('fast')];
    slow.hold();
    follow(slow.consumer);
    follow(fast.consumer);

    for (let seq = 1; seq <= 4; seq++) await appendMessages(store, seq, 1);
    await fast.reached(4);
    slow.release();
    await slow.reached(4);
    await appendMessages(store, 5, 1);
    await Promise.all([slow.reached(5), fast.reached(5)]);

    inOrderOnce(slow.handled, 1, 5);
    inOrderOnce(fast.handled, 1, 5);
    assert.equal(caches.length, 2, 'the slow consumer caught up with a private cache');
  });

  it('lets a consumer start behind the feed: it reads the older events from the store, then follows live', async () => {
    const store = await conversationStore();
    await appendMessages(store, 1, 2);
    const { follow } = await startFeed(store);
    const late = recorder('late');
    follow(late.consumer, 0);

    await appendMessages(store, 3, 1);
    await late.reached(3);

    assert.deepEqual(late.handled[0], { seq: 0, lastSeq: 0, messages: 0 });
    inOrderOnce(late.handled.slice(1), 1, 3);
  });

  it('handles a batch again after its handler failed, without skipping or repeating events', async () => {
    const store = await conversationStore();
    const { follow } = await startFeed(store);
    const flaky = recorder('flaky');
    const errors: unknown[] = [];
    const handle = flaky.consumer.handle;
    let failures = 1;
    follow(
      {
        ...flaky.consumer,
        handle: (works, position) => {
          if (failures-- > 0) throw new Error('read store away');
          return handle(works, position);
        },
      },
      undefined,
      (error) => errors.push(error),
    );

    await appendMessages(store, 1, 1);
    await appendMessages(store, 2, 1);
    await flaky.reached(2);

    inOrderOnce(flaky.handled, 1, 2);
    assert.equal(errors.length, 1);
  });
});
