import type { Position, RecordedEvent as EsdbRecordedEvent } from '@eventstore/db-client';
import { DomainError } from '../domain/errors.js';
import type { EventMetadata } from '../domain/events.js';
import { fromEsdbPosition } from './esdbPosition.js';
import type { RecordedEvent } from './port.js';

/**
 * A hard delete (tombstone) writes one record into the stream itself, so under the product stream's
 * name in `$all`: type `$streamDeleted`, revision EventNumber.DeletedStream = long.MaxValue, no JSON
 * content (LogRecord.DeleteTombstone and EventNumber in the KurrentDB source).
 */
const TOMBSTONE_TYPE = '$streamDeleted';
const TOMBSTONE_REVISION = 2n ** 63n - 1n;

/** Why a record of `$all` is not one of the product's events. */
export type SkipReason = 'tombstone' | 'system' | 'unreadable';

/** A record the `$all` feed passed over; plain strings, so it can be logged as it is. */
export interface SkippedRecord {
  reason: SkipReason;
  streamId: string;
  type: string;
  revision: string;
  position: string;
}

/**
 * The product event a record holds, or why it holds none. It throws only for what skipping a record
 * cannot mend: a server that reports no positions, or a log past 2^53 bytes (see esdbPosition.ts).
 */
export function classifyRecord(event: EsdbRecordedEvent): RecordedEvent | SkipReason {
  if (event.type === TOMBSTONE_TYPE || event.revision === TOMBSTONE_REVISION) return 'tombstone';
  if (event.type.startsWith('$')) return 'system';
  if (!event.isJson || !isPlainObject(event.metadata)) return 'unreadable';
  const position = reportedPosition(event);
  if (position.commit !== position.prepare) return 'unreadable';
  const metadata = event.metadata as Omit<EventMetadata, 'eventId'>;
  return {
    streamId: event.streamId,
    revision: Number(event.revision),
    position: fromEsdbPosition(position),
    type: event.type,
    data: event.data,
    metadata: { eventId: event.id, ...metadata },
  };
}

/** For reads of one product stream, where an unreadable event must stop the fold rather than vanish. */
export function toRecorded(event: EsdbRecordedEvent): RecordedEvent {
  const recorded = classifyRecord(event);
  if (typeof recorded === 'string') {
    throw new Error(`record ${event.id} at revision ${event.revision} of ${event.streamId} is not a product event (${recorded})`);
  }
  return recorded;
}

export function describeSkipped(event: EsdbRecordedEvent, reason: SkipReason): SkippedRecord {
  const position = event.position ? `${event.position.commit}/${event.position.prepare}` : 'none';
  return { reason, streamId: event.streamId, type: event.type, revision: String(event.revision), position };
}

/**
 * The client always reports a position: a reply without one becomes 0/0, the protobuf default
 * (extractPosition in utils/convertGrpcEvent.js). Offset 0 of the log holds the first epoch record,
 * never an appended event, so 0/0 on an event means the server did not say where it is.
 */
function reportedPosition(event: EsdbRecordedEvent): Position {
  const position = event.position;
  if (!position || (position.commit === 0n && position.prepare === 0n)) {
    throw new DomainError(
      'misconfigured',
      `EventStoreDB reported no $all position for ${event.streamId}@${event.revision}: EventStoreDB 23 or later is needed`,
    );
  }
  return position;
}

const isPlainObject = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
