import type { CommandContext, RemoteExecution } from '../commands/commandHandler.js';
import type { RecordedEvent } from '../eventstore/port.js';
import { countingFailures, type ForwardingOutcomes } from './forwardingEventStore.js';
import type { Homes } from './homes.js';
import { refusal, type PeerLink } from './peerLink.js';
import type { StreamCopier } from './streamCopier.js';

/**
 * Commands for streams homed in another datacenter, sent there over the internal link. The home
 * decides and appends; its answer carries the decided events and the stream after what this DC
 * held, which are copied into the local store before the caller is answered: it reads its own
 * write here at once, with the home's seq, and the later copy through Kafka is a repeat. A retry
 * with the same clientMsgId reaches the same home and gets the same answer.
 */
export function remoteCommands(deps: { homes: Homes; link: PeerLink; copier: StreamCopier; outcomes: ForwardingOutcomes }): RemoteExecution {
  const { homes, link, copier, outcomes } = deps;
  return {
    homeElsewhere: (streamId, command) => homes.elsewhere(streamId, (command as { homeDc?: string }).homeDc),
    async execute(home: string, streamId: string, command: unknown, context: CommandContext, knownRevision: number) {
      const answer = await countingFailures(outcomes, () => link.command(home, { streamId, command, context, knownRevision }));
      outcomes.forwarded(answer.refused ? 'refused' : 'decided');
      const last = answer.events.at(-1)?.seq ?? knownRevision;
      const position = await copier.copyAnswer(home, streamId, answer.stream as RecordedEvent[], knownRevision, last);
      if (answer.refused) throw refusal(answer.refused);
      return { events: answer.events, position: answer.events.length > 0 ? position : 0 };
    },
  };
}
