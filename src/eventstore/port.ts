import type { EventMetadata } from '../domain/events.js';
import type { ExpectedRevision } from './expectedRevision.js';

/**
 * The event store port. Revisions count from 0 per stream. Positions are global, at least 1, so 0
 * means "from the beginning", and increase along the feed, but they are opaque: they only compare.
 * They need not be consecutive (EventStoreDB's are offsets into its log, see esdbPosition.ts), so
 * no code outside an adapter adds to, subtracts or counts with them; an adapter counts events for
 * it (`countAfter`). Every adapter passes test/contract.
 */
export interface EventToAppend {
  type: string;
  data: unknown;
  /**
   * metadata.eventId, a lower-case UUID (version 4, 5 or 7), is the idempotency key: appending the same
   * events again to the same stream with the same expected revision changes nothing.
   */
  metadata: EventMetadata;
}

export interface RecordedEvent {
  streamId: string;
  revision: number;
  position: number;
  type: string;
  data: unknown;
  metadata: EventMetadata;
}

export interface AppendResult {
  /** Revision of the last event appended: pass it as the expected revision of the next append. */
  nextExpectedRevision: number;
  /**
   * Global position of the last event appended, or 0 when the store confirmed the append but could not
   * say where it landed: the events are stored, only waiting for that position is impossible.
   */
  position: number;
}

/**
 * What appending one replicated event at an exact revision did: `appended`; `duplicate`, the same event
 * id is already at that revision; `diverged`, a different event is there (`foundEventId`); `gap`, the
 * stream ends before the revision just below (`lastRevision`, -1 for no stream).
 */
export type AppendAtOutcome =
  | { outcome: 'appended'; position: number }
  | { outcome: 'duplicate'; position: number }
  | { outcome: 'diverged'; foundEventId: string; position: number }
  | { outcome: 'gap'; lastRevision: number };

export interface ReadStreamOptions {
  fromRevision?: number;
  maxCount?: number;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface SubscribeOptions {
  /** Deliver events with a position greater than this. */
  after: number;
  /** Called when the handler or the store fails; the subscription retries with backoff. */
  onError?: (error: unknown) => void;
}

export interface EventStore {
  /**
   * The most one append may carry, counted by `appendedSize` (appendSize.ts): a writer that batches
   * splits its appends to stay under it, since EventStoreDB refuses a larger append as a whole.
   */
  readonly maxAppendBytes: number;
  /**
   * Appends atomically, after checking `expected`. Product code passes `no_stream` or an exact revision
   * (`expectedAfter`): with those, a retry with the same event ids returns the original result and stores
   * nothing twice on every adapter, also after a store restart. An append whose outcome the store could
   * not learn fails with `unavailable` and may be retried as it was, with the same ids and expectation.
   */
  append(streamId: string, events: EventToAppend[], expected: ExpectedRevision): Promise<AppendResult>;
  /** Appends `event`, with its own id and metadata, at exactly `revision` (cross-datacenter replication). */
  appendAt(streamId: string, revision: number, event: EventToAppend): Promise<AppendAtOutcome>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Events of the product's streams in global order with position > after. */
  readAll(after: number, maxCount: number): Promise<RecordedEvent[]>;
  /**
   * The same with position >= from: a range an operator starts at an event's position (`im replay
   * --from`), which has no position just before it to read after.
   */
  readAllFrom(from: number, maxCount: number): Promise<RecordedEvent[]>;
  /**
   * How many of the product's events have a position > after, counting no further than `limit`: a
   * result equal to `limit` means at least that many. EventStoreDB reads the events to count them,
   * so `limit` also bounds the cost.
   */
  countAfter(after: number, limit: number): Promise<number>;
  /** Catch-up from `after`, then live; batches arrive in order and the next waits for the handler. */
  subscribeAll(options: SubscribeOptions, handler: (batch: RecordedEvent[]) => Promise<void> | void): Subscription;
  /** Position of the newest event, 0 when the store is empty. */
  headPosition(): Promise<number>;
  close(): Promise<void>;
}

export type { ExpectedRevision };

/** Store-wide figures for operators (`im status`). */
export interface EventStoreStats {
  /** Stored events per type. */
  countByType(): Promise<Record<string, number>>;
}
