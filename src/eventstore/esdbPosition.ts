import type { Position } from '@eventstore/db-client';

/**
 * EventStoreDB's global position is a pair of byte offsets into its transaction log, `{commit, prepare}`
 * as bigints. For an event appended through gRPC (every append this service makes; only the legacy TCP
 * API wrote explicit transactions) both halves are the offset of the event's own log record, so one
 * number identifies the event, and offsets grow in `$all` order.
 *
 * The port's position is a `number`, at least 1, with 0 meaning "from the beginning". The mapping is
 * `offset + 1`, which keeps 0 free whatever offset the first record has, and `position - 1` back.
 *
 * A `number` holds integers exactly up to 2^53 - 1, so this is exact for the first 8 PiB of log: at a
 * sustained 10 MB/s (some ten thousand 1 KB events a second) that is about 28 years. Past it the
 * conversion refuses loudly rather than round a checkpoint onto a neighbouring event.
 */
export function fromEsdbPosition(position: Position): number {
  if (position.commit !== position.prepare) {
    throw new Error(
      `EventStoreDB position ${position.commit}/${position.prepare} belongs to an explicit transaction; ` +
        'only events appended through gRPC are supported',
    );
  }
  if (position.commit < 0n || position.commit >= BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Error(`EventStoreDB position ${position.commit} is outside the exactly representable range`);
  }
  return Number(position.commit) + 1;
}

/** The EventStoreDB position of the event the port knows as `position` (at least 1). */
export function toEsdbPosition(position: number): Position {
  if (!Number.isSafeInteger(position) || position < 1) throw new Error(`not an event position: ${position}`);
  const offset = BigInt(position - 1);
  return { commit: offset, prepare: offset };
}
