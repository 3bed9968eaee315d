import { WrongExpectedRevision } from '../domain/errors.js';
import type { AppendResult, EventStore, EventToAppend, ExpectedRevision } from '../eventstore/port.js';
import type { Metrics } from './metrics.js';

/** An EventStore that times appends and counts sent messages, around any adapter. */
export function instrumentEventStore(inner: EventStore, { appendDuration, messagesSent }: Metrics): EventStore {
  return {
    maxAppendBytes: inner.maxAppendBytes,
    async append(streamId: string, events: EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
      const end = appendDuration.startTimer();
      try {
        const result = await inner.append(streamId, events, expected);
        end({ outcome: 'ok' });
        messagesSent.inc(events.filter((e) => e.type === 'MessageSent').length);
        return result;
      } catch (error) {
        end({ outcome: error instanceof WrongExpectedRevision ? 'conflict' : 'error' });
        throw error;
      }
    },
    appendAt: (streamId, revision, event) => inner.appendAt(streamId, revision, event),
    readStream: (streamId, options) => inner.readStream(streamId, options),
    readAll: (after, maxCount) => inner.readAll(after, maxCount),
    readAllFrom: (from, maxCount) => inner.readAllFrom(from, maxCount),
    countAfter: (after, limit) => inner.countAfter(after, limit),
    subscribeAll: (options, handler) => inner.subscribeAll(options, handler),
    headPosition: () => inner.headPosition(),
    close: () => inner.close(),
  };
}
