import type { ConversationState } from '../domain/conversation.js';
import type { ConversationEvent, DomainEvent } from '../domain/events.js';
import { parseStreamId } from '../domain/streams.js';
import type { RecordedEvent } from '../eventstore/port.js';
import { toDomainEvent, type StateCache } from '../eventstore/stateCache.js';

export type ConversationCache = StateCache<ConversationState, ConversationEvent>;

/**
 * One recorded event as every feed consumer needs it: parsed, and for a conversation event the
 * conversation's state right after it. The state is lent: it is folded on in place by the next
 * event, so consumers read it and never change or keep it.
 */
export type FeedItem =
  | { recorded: RecordedEvent; stream: { kind: 'conversation'; id: string }; event: ConversationEvent; state: ConversationState }
  | { recorded: RecordedEvent; stream: { kind: 'user' | 'username'; id: string }; event: DomainEvent; state: null };

/**
 * Parses a recorded event and folds its conversation's state: the one preamble of every feed
 * consumer, live or catching up. Null for an event outside the product's streams.
 */
export async function toFeedItem(recorded: RecordedEvent, conversations: ConversationCache): Promise<FeedItem | null> {
  const stream = parseStreamId(recorded.streamId);
  if (!stream) return null;
  const event = toDomainEvent(recorded);
  if (stream.kind !== 'conversation') return { recorded, stream: { kind: stream.kind, id: stream.id }, event, state: null };
  const state = await conversations.after(stream.id, recorded, event);
  return { recorded, stream: { kind: 'conversation', id: stream.id }, event: event as ConversationEvent, state };
}
