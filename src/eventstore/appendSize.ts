import type { EventToAppend } from './port.js';

/**
 * EventStoreDB refuses an append whose events add up to more than its `MaxAppendSize`, 1,048,576 bytes
 * unless the server is configured otherwise (ClusterVNodeOptions: `MaxAppendSize { get; init; } =
 * 1_024 * 1_024`); the client reports it as `MaxAppendSizeExceededError` (see esdbErrors.ts). The SQLite
 * store declares the same bound so that a writer splits its appends the same way on both.
 */
export const MAX_APPEND_BYTES = 1_048_576;

/**
 * What each event costs beyond the server's count: the event id, the content type and the framing of its
 * gRPC message, and any difference between this count and the server's version of it.
 */
const EVENT_ENVELOPE_BYTES = 256;

/**
 * The bytes one event takes of an append's `MaxAppendSize`, counted as EventStoreDB counts them
 * (Streams.Append: `Event.SizeOnDisk` = data bytes + metadata bytes + 2 × the type's length) over the
 * JSON both adapters store, plus the envelope. The metadata still holds the event id the EventStoreDB
 * adapter moves out of it, which only errs on the safe side.
 */
export function appendedSize({ type, data, metadata }: EventToAppend): number {
  return 2 * type.length + jsonBytes(data) + jsonBytes(metadata) + EVENT_ENVELOPE_BYTES;
}

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
