import { DomainError, WrongExpectedRevision } from '../domain/errors.js';
import { delegatingTo } from '../eventstore/delegating.js';
import type { ExpectedRevision } from '../eventstore/expectedRevision.js';
import type { AppendResult, EventStore, EventToAppend, RecordedEvent } from '../eventstore/port.js';
import type { Homes } from './homes.js';
import type { PeerLink } from './peerLink.js';
import type { StreamCopier } from './streamCopier.js';

export interface ForwardingOutcomes {
  /** Counts forwarded appends by outcome: appended, conflict, unavailable, failed. */
  forwarded(outcome: string): void;
}

/**
 * The event store the command side writes through. An append to a stream homed here goes to the
 * local store; one homed elsewhere is forwarded to its home, the stream's only writer, and the events
 * the home answers with (ours and any we had not received yet) are copied into the local store before
 * the append returns. So the caller reads its own write here at once, with the home's revisions, and
 * the later copy through Kafka is a repeat. A conflict at the home comes back as WrongExpectedRevision
 * after the missing events were copied, so the command handler's retry decides again on fresh state:
 * a retried send is recognised by its clientMsgId even when the first answer was lost.
 * Reads are always local.
 */
export function forwardingEventStore(
  local: EventStore,
  deps: { homes: Homes; link: PeerLink; copier: StreamCopier; outcomes: ForwardingOutcomes },
): EventStore {
  const { homes, link, copier, outcomes } = deps;

  /** Copies `events` from the home; answers the revision copied up to and the newest local position. */
  const copyAll = async (home: string, events: RecordedEvent[], copied: { revision: number; position: number }) => {
    for (const event of events) {
      const outcome = await copier.copy(home, event);
      if (outcome.outcome === 'gap' || outcome.outcome === 'diverged') {
        throw new DomainError('unavailable', `stream ${event.streamId} cannot take revision ${event.revision} from ${home} here: ${outcome.outcome}`);
      }
      copied.revision = event.revision;
      copied.position = Math.max(copied.position, outcome.position);
    }
  };

  const forward = async (home: string, streamId: string, events: EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> => {
    const knownRevision = typeof expected === 'number' ? expected : -1;
    let answer;
    try {
      answer = await link.append(home, { streamId, events, expected, knownRevision });
    } catch (error) {
      outcomes.forwarded(error instanceof DomainError && error.code === 'home_dc_unavailable' ? 'unavailable' : 'failed');
      throw error;
    }
    outcomes.forwarded(answer.outcome);
    const copied = { revision: knownRevision, position: 0 };
    await copyAll(home, answer.events as RecordedEvent[], copied);
    if (answer.outcome === 'conflict') throw new WrongExpectedRevision(streamId, expected, answer.revision);
    // An append larger than one answer: the rest of it is fetched, so the caller's state is all here.
    while (copied.revision < answer.revision) {
      const more = await link.readStream(home, streamId, copied.revision + 1, answer.revision - copied.revision);
      if (more.length === 0) throw new DomainError('unavailable', `${home} did not return ${streamId} up to revision ${answer.revision}`);
      await copyAll(home, more, copied);
    }
    return { nextExpectedRevision: answer.revision, position: copied.position };
  };

  return {
    ...delegatingTo(local),
    async append(streamId, events, expected) {
      const home = await homes.of(streamId, events);
      return home === homes.self ? local.append(streamId, events, expected) : forward(home, streamId, events, expected);
    },
  };
}
