import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  jsonEvent,
  type AllStreamRecordedEvent,
  type AppendExpectedRevision,
  type AppendResult as EsdbAppendResult,
  type Direction,
  type EventData,
  type JSONType,
  type Position,
  type ReadPosition,
  type RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import { isUnavailable } from '../domain/errors.js';
import { parseStreamId } from '../domain/streams.js';
import { retryPolicies, withRetry } from '../shared/retry.js';
import { appendAt } from './appendAt.js';
import { assertAppendable } from './appendInput.js';
import { MAX_APPEND_BYTES } from './appendSize.js';
import { readWithin, within } from './esdbDeadline.js';
import { mayHaveBeenWritten, translateError, unavailable } from './esdbErrors.js';
import { fromEsdbPosition, toEsdbPosition } from './esdbPosition.js';
import { classifyRecord, describeSkipped, toRecorded, type SkippedRecord } from './esdbRecords.js';
import { subscribeToProductStreams } from './esdbSubscription.js';
import type { ExpectedRevision } from './expectedRevision.js';
import type {
  AppendAtOutcome,
  AppendResult,
  EventStore,
  EventToAppend,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from './port.js';

export interface EsdbEventStoreOptions {
  /** Bound on one read: a stream, a page of `$all`, the read-back after an append. */
  readTimeoutMs?: number;
  /** Bound on one append attempt; EventStoreDB is given the same deadline. */
  appendTimeoutMs?: number;
  /** Attempts of an append that failed without a known outcome, each with the same ids and expectation. */
  appendAttempts?: number;
  /** Pause before the second attempt, doubled before each further one. */
  appendRetryDelayMs?: number;
  /** Told of each `$all` record a read or the subscription passed over (a tombstone, a system or unreadable record). */
  onSkippedRecord?: (record: SkippedRecord) => void;
}

const DEFAULTS = {
  readTimeoutMs: 5000,
  appendTimeoutMs: 5000,
  appendAttempts: retryPolicies.appendOutcomeUnknown.retries + 1,
  appendRetryDelayMs: retryPolicies.appendOutcomeUnknown.minTimeout,
};

/**
 * `$all` records read per page. The client (6.2.1) cannot filter reads of `$all` on the server, only
 * subscriptions, so pages also carry other streams' records and are trimmed here; a floor keeps a small
 * request from costing a round trip per non-product record, a ceiling bounds memory.
 */
const MIN_ALL_PAGE = 128;
const MAX_ALL_PAGE = 1024;

/**
 * Event store on EventStoreDB 23 or later (KurrentDB included), through its gRPC client. Streams and
 * revisions are EventStoreDB's own; `metadata.eventId` is the event id, which is how EventStoreDB
 * recognises a retried append; global positions are log offsets (see esdbPosition.ts).
 */
export class EsdbEventStore implements EventStore {
  /** The server's default `MaxAppendSize` (see appendSize.ts). */
  readonly maxAppendBytes = MAX_APPEND_BYTES;
  private readonly options: Required<Omit<EsdbEventStoreOptions, 'onSkippedRecord'>> & Pick<EsdbEventStoreOptions, 'onSkippedRecord'>;

  constructor(
    private readonly client: EventStoreDBClient,
    options: EsdbEventStoreOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** `url` is an EventStoreDB connection string, e.g. `esdb://localhost:2113?tls=false`. */
  static connect(url: string, options: EsdbEventStoreOptions = {}): EsdbEventStore {
    return new EsdbEventStore(EventStoreDBClient.connectionString(url), options);
  }

  async append(streamId: string, events: EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    assertAppendable(events, expected);
    const proposed = events.map(({ type, data, metadata: { eventId, ...rest } }) =>
      jsonEvent({ id: eventId, type, data: data as JSONType, metadata: rest }),
    );
    const { nextExpectedRevision } = await this.sendUntilKnown(streamId, proposed, expected);
    const lastId = events[events.length - 1]!.metadata.eventId;
    return {
      nextExpectedRevision: Number(nextExpectedRevision),
      position: await this.positionOfStored(streamId, nextExpectedRevision, lastId),
    };
  }

  appendAt(streamId: string, revision: number, event: EventToAppend): Promise<AppendAtOutcome> {
    return appendAt(this, streamId, revision, event);
  }

  async readStream(
    streamId: string,
    { fromRevision = 0, maxCount = Number.MAX_SAFE_INTEGER }: ReadStreamOptions = {},
  ): Promise<RecordedEvent[]> {
    if (maxCount <= 0) return [];
    return (await this.readStreamRecords(streamId, fromRevision, maxCount)).map(toRecorded);
  }

  async readAll(after: number, maxCount: number): Promise<RecordedEvent[]> {
    return this.readProductEvents(after, 'after', maxCount);
  }

  async readAllFrom(from: number, maxCount: number): Promise<RecordedEvent[]> {
    return this.readProductEvents(from, 'from', maxCount);
  }

  /** Counts by reading: `$all` has no count, and positions, being log offsets, say nothing of one. */
  async countAfter(after: number, limit: number): Promise<number> {
    let count = 0;
    // Skipped records are reported by the reads that pass them over, not again by a count.
    await this.walkAll(after, 'after', limit, (record) => {
      const counts = isProductStream(record.streamId) && typeof classifyRecord(record) !== 'string';
      if (counts) count++;
      return counts;
    });
    return count;
  }

  private async readProductEvents(start: number, bound: 'after' | 'from', maxCount: number): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    await this.walkAll(start, bound, maxCount, (record) => {
      const event = this.productEvent(record);
      if (event) out.push(event);
      return event !== null;
    });
    return out;
  }

  /**
   * Hands the records of `$all` after (or from) the port position `start` to `take`, in order, until
   * `take` has accepted `maxCount` of them (it answers whether it did) or the log ends.
   */
  private async walkAll(start: number, bound: 'after' | 'from', maxCount: number, take: (record: AllStreamRecordedEvent) => boolean): Promise<void> {
    if (maxCount <= 0) return;
    let taken = 0;
    // Forward reads of `$all` include the record at `fromPosition`: the first page keeps it only for
    // `from`, and every later page starts at the last record handed over, so it skips that one.
    let cursor: Position | null = start === 0 ? null : toEsdbPosition(start);
    let keepCursor = bound === 'from';
    for (;;) {
      const pageSize = Math.min(Math.max(maxCount - taken + 1, MIN_ALL_PAGE), MAX_ALL_PAGE);
      const page = await this.readAllPage(cursor ?? START, FORWARDS, pageSize);
      for (const record of page) {
        if (cursor && !(isAfter(record.position, cursor) || (keepCursor && isSame(record.position, cursor)))) continue;
        cursor = record.position;
        keepCursor = false;
        if (take(record) && ++taken === maxCount) return;
      }
      if (page.length < pageSize) return;
    }
  }

  async headPosition(): Promise<number> {
    // Whether a backwards read includes the record at `fromPosition` is immaterial: only older ones count.
    let before: Position | null = null;
    for (;;) {
      const bound = before;
      const page = await this.readAllPage(bound ?? END, BACKWARDS, MIN_ALL_PAGE);
      for (const record of page) {
        if (bound && !isAfter(bound, record.position)) continue;
        const event = isProductStream(record.streamId) ? classifyRecord(record) : null;
        if (event && typeof event !== 'string') return event.position;
      }
      if (page.length < MIN_ALL_PAGE) return 0;
      before = page[page.length - 1]!.position;
    }
  }

  /**
   * Live subscriptions keep the client's endless deadline on purpose: they are meant to stay open, and a
   * dead connection ends them through gRPC keepalive, after which they resubscribe.
   */
  subscribeAll(options: SubscribeOptions, handler: (batch: RecordedEvent[]) => Promise<void> | void): Subscription {
    return subscribeToProductStreams(this.client, (resolved) => (resolved.event ? this.productEvent(resolved.event) : null), options, handler);
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  /**
   * Sends the append until its fate is known. A failure that may have written (a deadline, a reset stream,
   * a server that stopped answering) is re-sent with the same event ids and the same expected revision:
   * for `no_stream` and exact revisions EventStoreDB compares the ids with what the stream holds at those
   * revisions and answers a repeat with the original result (IndexWriter.CheckCommit), so the write lands
   * once. After the last attempt the caller learns that the outcome is unknown, never a guess.
   */
  private async sendUntilKnown(streamId: string, proposed: EventData[], expected: ExpectedRevision): Promise<EsdbAppendResult> {
    const { appendAttempts, appendTimeoutMs, appendRetryDelayMs } = this.options;
    const policy = { ...retryPolicies.appendOutcomeUnknown, retries: appendAttempts - 1, minTimeout: appendRetryDelayMs };
    let attempts = 0;
    let maybeWritten = false;
    try {
      return await withRetry(policy, async (attempt) => {
        attempts = attempt;
        try {
          const sent = this.client.appendToStream(streamId, proposed, { expectedRevision: toEsdbExpected(expected), deadline: appendTimeoutMs });
          return await within(sent, appendTimeoutMs, `an append to ${streamId}`);
        } catch (error) {
          maybeWritten ||= mayHaveBeenWritten(error);
          throw translateError(error, streamId, expected);
        }
      });
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      const fate = maybeWritten
        ? 'its outcome is unknown: it may have been stored; retrying it with the same event ids and expected revision is safe'
        : 'nothing was stored';
      throw unavailable(`append to ${streamId} failed ${attempts} times, ${fate}`, error);
    }
  }

  /**
   * The stored event's position as reads report it, read back from the leader (a follower may not have it
   * yet). The events are stored whatever happens here, so a failed read-back reports position 0, unknown,
   * rather than failing a write that succeeded and inviting a retry that would store it again.
   */
  private async positionOfStored(streamId: string, revision: bigint, eventId: string): Promise<number> {
    try {
      const [last] = await this.readStreamRecords(streamId, Number(revision), 1, true);
      return last?.id === eventId ? toRecorded(last).position : 0;
    } catch {
      return 0;
    }
  }

  private async readStreamRecords(streamId: string, fromRevision: number, maxCount: number, requiresLeader = false): Promise<EsdbRecordedEvent[]> {
    try {
      const read = this.client.readStream(streamId, { fromRevision: BigInt(fromRevision), maxCount, direction: FORWARDS, requiresLeader });
      const resolved = await readWithin(read, this.options.readTimeoutMs, `a read of ${streamId}`);
      return resolved.flatMap((r) => (r.event ? [r.event] : []));
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw translateError(error, streamId);
    }
  }

  private async readAllPage(fromPosition: ReadPosition, direction: Direction, maxCount: number): Promise<AllStreamRecordedEvent[]> {
    try {
      const read = this.client.readAll({ fromPosition, direction, maxCount });
      const resolved = await readWithin(read, this.options.readTimeoutMs, 'a read of $all');
      return resolved.flatMap((r) => (r.event ? [r.event] : []));
    } catch (error) {
      throw translateError(error);
    }
  }

  /** A product event, or null for another application's record or one the feed passes over (reported). */
  private productEvent(record: EsdbRecordedEvent): RecordedEvent | null {
    if (!isProductStream(record.streamId)) return null;
    const event = classifyRecord(record);
    if (typeof event !== 'string') return event;
    this.options.onSkippedRecord?.(describeSkipped(record, event));
    return null;
  }
}

export function toEsdbExpected(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return BigInt(expected);
  }
}

const isProductStream = (streamId: string) => parseStreamId(streamId) !== null;

/** `$all` order: by commit position, then prepare position. */
const isAfter = (a: Position, b: Position) => a.commit > b.commit || (a.commit === b.commit && a.prepare > b.prepare);
const isSame = (a: Position, b: Position) => a.commit === b.commit && a.prepare === b.prepare;
