/**
 * What an append expects of the stream: anything, that it does not exist yet, that it exists,
 * or that its last revision is exactly n. A mismatch is a WrongExpectedRevision.
 *
 * Product code appends with `no_stream` or an exact revision (see `expectedAfter`): only those make a
 * retried append safe on every adapter. EventStoreDB checks the event ids of a retry against the stream
 * itself for them, but only against an in-memory cache on the leader for `any` and `stream_exists`,
 * which a restart or a leader change empties (IndexWriter.CheckCommit in the KurrentDB source).
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

/** `current` is the stream's last revision, or -1 when the stream does not exist. */
export function satisfiesExpected(expected: ExpectedRevision, current: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return current === -1;
    case 'stream_exists':
      return current >= 0;
    default:
      return current === expected;
  }
}

/** The expected revision for appending after having read a stream up to `lastRevision`. */
export const expectedAfter = (lastRevision: number): ExpectedRevision => (lastRevision < 0 ? 'no_stream' : lastRevision);

/**
 * Refuses an expected revision that is not one of the kinds or a revision (a safe integer, 0 or more).
 * Checked before anything is sent: the EventStoreDB client writes -1 or 1.5 as an invalid uint64, which
 * breaks the batch-append stream it shares between all appends and fails every append in flight.
 */
export function assertExpectedRevision(expected: ExpectedRevision): void {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (typeof expected !== 'number' || !Number.isSafeInteger(expected) || expected < 0) {
    throw new RangeError(`not an expected revision: ${String(expected)} (use no_stream for a new stream)`);
  }
}
