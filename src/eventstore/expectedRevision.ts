/**
 * What an append expects of the stream: anything, that it does not exist yet, that it exists,
 * or that its last revision is exactly n. A mismatch is a WrongExpectedRevision.
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
