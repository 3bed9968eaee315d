import type { Logger } from 'pino';
import type { EventStore, RecordedEvent, Subscription } from '../eventstore/port.js';
import { toFeedItem, type ConversationCache } from './feedItem.js';
import { Follower, type FeedConsumer, type FeedSource } from './follower.js';

export interface ConversationFeedDeps {
  store: EventStore;
  /** Conversation caches: one for the live feed, and a private one per catch-up. */
  newCache(): ConversationCache;
  logger: Logger;
  /** Items a consumer may have taken and not yet handled before it is cut loose to catch up from the store. */
  maxQueuedItems?: number;
}

export interface FollowOptions {
  /** Items after this position are handed over; without it, from the feed's position on (live only). */
  after?: number;
  /** Told of each failure of the consumer or of its reads; it then carries on from its last handled position. */
  onError?: (error: unknown) => void;
}

const MAX_QUEUED_ITEMS = 10_000;

/**
 * Follows the event store's global feed once for the whole process: each event is parsed and its
 * conversation's state folded once, then offered to every consumer (projections, the gateway's
 * fan-out, push).
 *
 * Each consumer has its own cursor: it takes what it needs from an item at once (the state is lent,
 * folded on in place by the next event, because copying a big group's state per event would cost more
 * than the folds this saves) and handles that work from its own bounded queue at its own pace. A
 * consumer whose queue overflows, or that starts behind the feed, reads the store from its own
 * position through the same parse and fold and rejoins, so a slow push never delays live delivery.
 */
export class ConversationFeed implements FeedSource {
  readonly store: EventStore;
  readonly logger: Logger;
  readonly maxQueuedItems: number;
  private lastPosition = 0;
  private readonly conversations: ConversationCache;
  private readonly followers = new Set<Follower<unknown>>();
  private subscription: Subscription | null = null;

  constructor(private readonly deps: ConversationFeedDeps) {
    this.store = deps.store;
    this.logger = deps.logger;
    this.maxQueuedItems = deps.maxQueuedItems ?? MAX_QUEUED_ITEMS;
    this.conversations = deps.newCache();
  }

  get position(): number {
    return this.lastPosition;
  }

  newCache(): ConversationCache {
    return this.deps.newCache();
  }

  /** Follows the store from its head: consumers with older positions catch up on their own. */
  async start(): Promise<void> {
    this.lastPosition = await this.store.headPosition();
    this.subscription = this.store.subscribeAll(
      { after: this.lastPosition, onError: (err) => this.logger.error({ err }, 'conversation feed failed; retrying') },
      (batch) => this.dispatch(batch),
    );
  }

  follow<W>(consumer: FeedConsumer<W>, { after = this.lastPosition, onError }: FollowOptions = {}): Subscription {
    const follower = new Follower(this, consumer, after, onError);
    this.followers.add(follower as Follower<unknown>);
    return {
      close: async () => {
        this.followers.delete(follower as Follower<unknown>);
        await follower.close();
      },
    };
  }

  /** Call after the consumers stopped following. */
  async stop(): Promise<void> {
    await this.subscription?.close();
    this.subscription = null;
  }

  private async dispatch(batch: RecordedEvent[]): Promise<void> {
    for (const recorded of batch) {
      // A batch that failed halfway comes again: what was offered before the failure is not offered twice.
      if (recorded.position <= this.lastPosition) continue;
      const item = await toFeedItem(recorded, this.conversations);
      if (item) for (const follower of this.followers) follower.offer(item);
      this.lastPosition = recorded.position;
    }
    for (const follower of this.followers) follower.endBatch();
  }
}
