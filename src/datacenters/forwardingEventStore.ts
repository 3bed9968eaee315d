import { DomainError, WrongExpectedRevision } from '../domain/errors.js';
import { delegatingTo } from '../eventstore/delegating.js';
import type { ExpectedRevision } from '../eventstore/expectedRevision.js';
import type { AppendResult, EventStore, EventToAppend, RecordedEvent } from '../eventstore/port.js';
import { homeNamedBy, type Homes } from './homes.js';
import type { PeerLink } from './peerLink.js';
import type { StreamCopier } from './streamCopier.js';

export interface ForwardingOutcomes {
  /** Counts forwarded commands and appends by outcome (see the metric chat_forwarded_commands_total). */
  forwarded(outcome: string): void;
}

/** Sends something to a home, counting a call that got no answer as `unavailable` and a refused one as `refused`. */
export async function countingFailures<T>(outcomes: ForwardingOutcomes, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    outcomes.forwarded(error instanceof DomainError && error.code === 'home_dc_unavailable' ? 'unavailable' : 'refused');
    throw error;
  }
}

/**
 * The event store the command side writes through. Commands for streams homed elsewhere are sent to
 * their home before they reach a store (RemoteExecution); what still arrives here for such a stream
 * is a raw append decided here, a username reservation. It is forwarded to the home, the stream's only
 * writer, and the events the home answers with (ours and any we had not received yet) are copied into
 * the local store before the append returns, so the caller reads its own write here at once and the
 * later copy through Kafka is a repeat. A conflict at the home comes back as WrongExpectedRevision
 * after the missing events were copied, so the caller decides again on fresh state. An append to a
 * stream homed here goes to the local store; reads are always local.
 */
export function forwardingEventStore(
  local: EventStore,
  deps: { homes: Homes; link: PeerLink; copier: StreamCopier; outcomes: ForwardingOutcomes },
): EventStore {
  const { homes, link, copier, outcomes } = deps;

  const forward = async (home: string, streamId: string, events: EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> => {
    const knownRevision = typeof expected === 'number' ? expected : -1;
    const answer = await countingFailures(outcomes, () => link.append(home, { streamId, events, expected, knownRevision }));
    outcomes.forwarded(answer.outcome);
    const stream = answer.events as RecordedEvent[];
    if (answer.outcome === 'conflict') {
      await copier.copyAnswer(home, streamId, stream, knownRevision, knownRevision);
      throw new WrongExpectedRevision(streamId, expected, answer.revision);
    }
    // The caller's state must hold the whole append, also one larger than a single answer.
    const position = await copier.copyAnswer(home, streamId, stream, knownRevision, answer.revision);
    return { nextExpectedRevision: answer.revision, position };
  };

  return {
    ...delegatingTo(local),
    async append(streamId, events, expected) {
      const home = await homes.elsewhere(streamId, homeNamedBy(events[0]));
      return home ? forward(home, streamId, events, expected) : local.append(streamId, events, expected);
    },
  };
}
