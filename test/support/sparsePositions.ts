import type { EventStore, RecordedEvent } from '../../src/eventstore/port.js';

/**
 * Positions shaped like EventStoreDB's log offsets: increasing, far apart, and meaningless in
 * between. Position p of the store underneath is p * 1000 + 17 here; 0 stays "from the beginning".
 */
export const toSparse = (position: number) => (position === 0 ? 0 : position * 1000 + 17);

/** The underlying position; anything but an event's position is refused, as EventStoreDB refuses to read inside a record. */
export function toDense(position: number): number {
  if (position === 0) return 0;
  if (!Number.isSafeInteger(position) || position < 17 || (position - 17) % 1000 !== 0) {
    throw new Error(`${position} is not the position of an event`);
  }
  return (position - 17) / 1000;
}

const sparseEvents = (events: RecordedEvent[]) => events.map((e) => ({ ...e, position: toSparse(e.position) }));

/**
 * A real event store whose positions are sparse in every answer and are mapped back on every
 * question: code that computes a position (`from - 1`, `head - checkpoint`) fails or is wrong here.
 */
export function sparsePositions(inner: EventStore): EventStore {
  return {
    maxAppendBytes: inner.maxAppendBytes,
    async append(streamId, events, expected) {
      const result = await inner.append(streamId, events, expected);
      return { ...result, position: toSparse(result.position) };
    },
    async appendAt(streamId, revision, event) {
      const outcome = await inner.appendAt(streamId, revision, event);
      return outcome.outcome === 'gap' ? outcome : { ...outcome, position: toSparse(outcome.position) };
    },
    readStream: async (streamId, options) => sparseEvents(await inner.readStream(streamId, options)),
    readAll: async (after, maxCount) => sparseEvents(await inner.readAll(toDense(after), maxCount)),
    readAllFrom: async (from, maxCount) => sparseEvents(await inner.readAllFrom(toDense(from), maxCount)),
    countAfter: (after, limit) => inner.countAfter(toDense(after), limit),
    subscribeAll: (options, handler) =>
      inner.subscribeAll({ ...options, after: toDense(options.after) }, (batch) => handler(sparseEvents(batch))),
    headPosition: async () => toSparse(await inner.headPosition()),
    close: () => inner.close(),
  };
}
