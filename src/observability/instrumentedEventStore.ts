import { WrongExpectedRevision } from '../domain/errors.js';
import { delegatingTo } from '../eventstore/delegating.js';
import type { AppendResult, EventStore, EventToAppend, ExpectedRevision } from '../eventstore/port.js';
import type { Metrics } from './metrics.js';

/** An EventStore that times appends and counts sent messages, around any adapter. */
export function instrumentEventStore(inner: EventStore, { appendDuration, messagesSent }: Metrics): EventStore {
  return {
    ...delegatingTo(inner),
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
  };
}
