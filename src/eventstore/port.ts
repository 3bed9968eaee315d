import type { EventMetadata } from '../domain/events.js';
import type { ExpectedRevision } from './expectedRevision.js';

/**
 * The event store port. Revisions count from 0 per stream; positions are global, increasing,
 * and at least 1, so 0 means "from the beginning". Every adapter passes test/contract.
 */
export interface EventToAppend {
  type: string;
  data: unknown;
  /** metadata.eventId is the idempotency key: appending the same events again changes nothing. */
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
  /** Global position of the last event appended. */
  position: number;
}

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
  append(streamId: string, events: EventToAppend[], expected: ExpectedRevision): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Events of the product's streams in global order with position > after. */
  readAll(after: number, maxCount: number): Promise<RecordedEvent[]>;
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
