import {
  ANY,
  BACKWARDS,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  NotLeaderError,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type Direction,
  type JSONType,
  type Position,
  type ReadPosition,
  type RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import { DomainError, WrongExpectedRevision } from '../domain/errors.js';
import type { EventMetadata } from '../domain/events.js';
import { parseStreamId } from '../domain/streams.js';
import { fromEsdbPosition, toEsdbPosition } from './esdbPosition.js';
import { subscribeToProductStreams } from './esdbSubscription.js';
import type { ExpectedRevision } from './expectedRevision.js';
import type {
  AppendResult,
  EventStore,
  EventToAppend,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from './port.js';

/** How many `$all` records one backwards read looks at while searching for the newest product event. */
const HEAD_PAGE = 32;

/** gRPC status codes of a call that never reached a working leader (the client does not always wrap them). */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/**
 * Event store on EventStoreDB 22.6 or later (KurrentDB included), through its gRPC client. Streams and
 * revisions are EventStoreDB's own; `metadata.eventId` is the event id, which is how EventStoreDB
 * recognises a retried append; global positions are log offsets (see esdbPosition.ts).
 *
 * This client version filters `$all` on the server for subscriptions only, so reads of `$all` skip the
 * records of other streams (system streams, other applications) on this side.
 */
export class EsdbEventStore implements EventStore {
  constructor(private readonly client: EventStoreDBClient) {}

  /** `url` is an EventStoreDB connection string, e.g. `esdb://localhost:2113?tls=false`. */
  static connect(url: string): EsdbEventStore {
    return new EsdbEventStore(EventStoreDBClient.connectionString(url));
  }

  async append(streamId: string, events: EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    let nextExpectedRevision: bigint;
    try {
      ({ nextExpectedRevision } = await this.client.appendToStream(
        streamId,
        events.map(({ type, data, metadata: { eventId, ...rest } }) =>
          jsonEvent({ id: eventId, type, data: data as JSONType, metadata: rest }),
        ),
        { expectedRevision: toEsdbExpected(expected) },
      ));
    } catch (error) {
      throw translateError(error, streamId, expected);
    }
    // The append reply carries one log position for the whole write (and, for a retry EventStoreDB
    // recognised as already appended, the original write's), which is not necessarily the record of the
    // last event. The port promises that event's position, as reads report it, so read it back.
    const [last] = await this.readStream(streamId, { fromRevision: Number(nextExpectedRevision), maxCount: 1 });
    if (!last) throw new Error(`stream ${streamId}: revision ${nextExpectedRevision} unreadable right after appending it`);
    return { nextExpectedRevision: last.revision, position: last.position };
  }

  async readStream(
    streamId: string,
    { fromRevision = 0, maxCount = Number.MAX_SAFE_INTEGER }: ReadStreamOptions = {},
  ): Promise<RecordedEvent[]> {
    if (maxCount <= 0) return [];
    const out: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId, {
        fromRevision: BigInt(fromRevision),
        maxCount,
        direction: FORWARDS,
      })) {
        if (resolved.event) out.push(toRecorded(resolved.event));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw translateError(error);
    }
    return out;
  }

  async readAll(after: number, maxCount: number): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    // Forward reads of `$all` include the record at `fromPosition`, hence one more than wanted and the skip.
    let cursor: Position | null = after === 0 ? null : toEsdbPosition(after);
    while (out.length < maxCount) {
      const want = maxCount - out.length + 1;
      const page = await this.readAllPage(cursor ?? START, FORWARDS, want);
      for (const event of page) {
        if (cursor && !isAfter(event.position, cursor)) continue;
        cursor = event.position;
        if (isProductStream(event.streamId) && out.length < maxCount) out.push(toRecorded(event));
      }
      if (page.length < want) break;
    }
    return out;
  }

  async headPosition(): Promise<number> {
    // Whether a backwards read includes the record at `fromPosition` is immaterial: only older ones count.
    let before: Position | null = null;
    for (;;) {
      const bound = before;
      const page = await this.readAllPage(bound ?? END, BACKWARDS, HEAD_PAGE);
      const newest = page.find((e) => isProductStream(e.streamId) && (!bound || isAfter(bound, e.position)));
      if (newest) return fromEsdbPosition(newest.position);
      if (page.length < HEAD_PAGE) return 0;
      before = page[page.length - 1]!.position;
    }
  }

  subscribeAll(options: SubscribeOptions, handler: (batch: RecordedEvent[]) => Promise<void> | void): Subscription {
    const convert = (resolved: AllStreamResolvedEvent) =>
      resolved.event && isProductStream(resolved.event.streamId) ? toRecorded(resolved.event) : null;
    return subscribeToProductStreams(this.client, convert, options, handler);
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  private async readAllPage(fromPosition: ReadPosition, direction: Direction, maxCount: number) {
    const page: (EsdbRecordedEvent & { position: Position })[] = [];
    try {
      for await (const resolved of this.client.readAll({ fromPosition, direction, maxCount })) {
        if (resolved.event) page.push(resolved.event);
      }
    } catch (error) {
      throw translateError(error);
    }
    return page;
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

/**
 * The domain's view of a client error: a concurrency conflict becomes WrongExpectedRevision (with the
 * stream's revision, -1 when it does not exist), a server out of reach becomes `unavailable` (503), and
 * anything else is passed on as it is.
 */
export function translateError(error: unknown, streamId?: string, expected?: ExpectedRevision): unknown {
  if (error instanceof WrongExpectedVersionError && streamId !== undefined) {
    const actual = error.actualVersion === NO_STREAM ? -1 : Number(error.actualVersion);
    return new WrongExpectedRevision(streamId, expected, actual);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (
    error instanceof UnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof NotLeaderError ||
    code === GRPC_UNAVAILABLE ||
    code === GRPC_DEADLINE_EXCEEDED
  ) {
    const unavailable = new DomainError('unavailable', `event store unavailable: ${(error as Error).message}`);
    unavailable.cause = error;
    return unavailable;
  }
  return error;
}

const isProductStream = (streamId: string) => parseStreamId(streamId) !== null;

/** `$all` order: by commit position, then prepare position. */
const isAfter = (a: Position, b: Position) => a.commit > b.commit || (a.commit === b.commit && a.prepare > b.prepare);

function toRecorded(event: EsdbRecordedEvent): RecordedEvent {
  if (!event.isJson) throw new Error(`event ${event.id} in ${event.streamId} is not JSON`);
  if (!event.position) {
    throw new Error(`event ${event.id} in ${event.streamId} has no $all position: EventStoreDB 22.6 or later is needed`);
  }
  const metadata = event.metadata as Omit<EventMetadata, 'eventId'>;
  return {
    streamId: event.streamId,
    revision: Number(event.revision),
    position: fromEsdbPosition(event.position),
    type: event.type,
    data: event.data,
    metadata: { eventId: event.id, ...metadata },
  };
}
