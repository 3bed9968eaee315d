import type { Logger } from 'pino';
import type { EventStore, Subscription } from '../eventstore/port.js';
import { repeatUntilAborted, retryPolicies } from '../shared/retry.js';
import { toFeedItem, type ConversationCache, type FeedItem } from './feedItem.js';

/** One consumer of the conversation feed (projections, the gateway's fan-out, push). */
export interface FeedConsumer<W> {
  /** Names the consumer in logs. */
  readonly name: string;
  /**
   * Takes what the consumer needs from one item, synchronously: right after it the feed folds the
   * conversation's next event into the same state, so nothing returned may hold on to the state.
   */
  take(item: FeedItem): W;
  /** Handles what was taken from consecutive items, up to `position`, at the consumer's own pace. */
  handle(works: W[], position: number): Promise<void> | void;
}

/** What a follower needs of its feed. */
export interface FeedSource {
  readonly store: EventStore;
  /** Position of the last item handed to the live followers. */
  readonly position: number;
  /** A private cache for a catch-up, so that it never folds the live states. */
  newCache(): ConversationCache;
  readonly logger: Logger;
  /** Items taken and not yet handled past which a follower is cut loose to catch up on its own. */
  readonly maxQueuedItems: number;
}

interface Taken<W> {
  works: W[];
  position: number;
}

const CATCH_UP_PAGE = 500;

/**
 * One consumer's cursor on the feed. Live, it takes every item as the feed hands it out and handles
 * the queued work in its own loop, so a slow consumer never holds up the others. Behind (at start
 * from an older checkpoint, after its queue overflowed, or after a failure) it reads the store from
 * its own position through the same parse and fold, with a private cache, and joins the live feed
 * once it has reached it.
 */
export class Follower<W> implements Subscription {
  private position: number;
  /** The last position taken: what the feed offers at or below it was read from the store already. */
  private takenUpTo: number;
  private live = false;
  private taking: Taken<W> | null = null;
  private queue: Taken<W>[] = [];
  private queuedItems = 0;
  private catchUpCache: ConversationCache | null = null;
  private wake: (() => void) | null = null;
  private readonly closing = new AbortController();
  private readonly done: Promise<void>;

  constructor(
    private readonly feed: FeedSource,
    private readonly consumer: FeedConsumer<W>,
    after: number,
    private readonly onError?: (error: unknown) => void,
  ) {
    this.position = this.takenUpTo = after;
    this.done = repeatUntilAborted(retryPolicies.resubscribe, () => this.step(), { signal: this.closing.signal, onRetry: onError });
  }

  /** The feed offers every item in order; only a live follower takes it. */
  offer(item: FeedItem): void {
    const { position } = item.recorded;
    if (!this.live || position <= this.takenUpTo) return;
    try {
      (this.taking ??= { works: [], position }).works.push(this.consumer.take(item));
    } catch (error) {
      this.onError?.(error);
      return this.fallBehind();
    }
    this.taking.position = this.takenUpTo = position;
  }

  /** The feed's batch is over: what was taken from it is queued for handling. */
  endBatch(): void {
    if (!this.taking) return;
    this.queue.push(this.taking);
    this.queuedItems += this.taking.works.length;
    this.taking = null;
    if (this.queuedItems > this.feed.maxQueuedItems) {
      this.feed.logger.warn({ consumer: this.consumer.name, queued: this.queuedItems }, 'feed consumer fell behind; it catches up from the event store');
      this.fallBehind();
    }
    this.wake?.();
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.wake?.();
    await this.done;
  }

  private async step(): Promise<void> {
    if (!this.live) return this.catchUp();
    const batch = this.queue.shift();
    if (!batch) return this.nextBatch();
    this.queuedItems -= batch.works.length;
    try {
      await this.consumer.handle(batch.works, batch.position);
    } catch (error) {
      // The batch and everything queued after it are read again from the store.
      this.fallBehind();
      throw error;
    }
    this.position = batch.position;
  }

  private async catchUp(): Promise<void> {
    const page = await this.feed.store.readAll(this.position, CATCH_UP_PAGE);
    if (this.closing.signal.aborted) return;
    if (page.length > 0) {
      this.catchUpCache ??= this.feed.newCache();
      const works: W[] = [];
      for (const recorded of page) {
        const item = await toFeedItem(recorded, this.catchUpCache);
        if (item) works.push(this.consumer.take(item));
      }
      const reached = page[page.length - 1]!.position;
      await this.consumer.handle(works, reached);
      this.position = reached;
    }
    // Joining is synchronous with this check, so no item the feed hands out falls between the two.
    if (this.position >= this.feed.position || page.length === 0) this.join();
  }

  private join(): void {
    this.live = true;
    this.takenUpTo = this.position;
    this.catchUpCache = null;
  }

  private fallBehind(): void {
    this.live = false;
    this.taking = null;
    this.queue = [];
    this.queuedItems = 0;
  }

  private nextBatch(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = null;
        resolve();
      };
    });
  }
}
