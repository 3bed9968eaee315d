import { eventAudience, readableEventData } from '../domain/conversation.js';
import { isPersonalViewEvent, type ConversationEvent, type PersonalViewEvent } from '../domain/events.js';
import { userStream } from '../domain/streams.js';
import type { RecordedEvent, Subscription } from '../eventstore/port.js';
import type { ConversationCache, ConversationFeed, FeedItem } from '../feed/index.js';
import { serializeEventFrame } from './frames.js';
import type { ConnectionHub } from './hub.js';
import type { PresenceTracker } from './presence.js';
import type { TypingTracker } from './typing.js';

export interface FanOutDeps {
  hub: ConnectionHub;
  /** The write side's cache, peeked for recalls (see readableLive). */
  writeSide: Pick<ConversationCache, 'peek'>;
  presence: PresenceTracker;
  typing: TypingTracker;
}

/**
 * Live delivery: follows the conversation feed and sends each conversation event to the devices of
 * its audience online here, serialised once per event.
 */
export class EventFanOut {
  private lastPosition = 0;

  constructor(private readonly deps: FanOutDeps) {}

  /** The last feed position delivered: a sync replays up to it, and the rest arrives live. */
  get position(): number {
    return this.lastPosition;
  }

  /** Follows the feed from where it is now: what came before is what a client's sync is for. */
  follow(feed: ConversationFeed, onError: (error: unknown) => void): Subscription {
    this.lastPosition = feed.position;
    // Delivery is done while taking the item: nothing is left to handle later.
    return feed.follow({ name: 'gateway', take: (item) => this.deliver(item), handle: () => {} }, { onError });
  }

  private deliver({ recorded, stream, event, state }: FeedItem): void {
    this.lastPosition = recorded.position;
    if (stream.kind === 'user' && isPersonalViewEvent(event)) return this.deliverToOwnDevices(stream.id, recorded, event);
    if (state === null) return;
    this.noteActivity(stream.id, event, recorded.metadata.at);
    const audience = eventAudience(event, state).filter((u) => this.deps.hub.users.has(u));
    if (audience.length === 0) return;
    const frame = serializeEventFrame({
      type: 'event',
      conversationId: stream.id,
      seq: recorded.revision,
      event: { type: recorded.type, data: this.readableLive(stream.id, recorded), at: recorded.metadata.at },
    });
    for (const userId of audience) {
      for (const s of this.deps.hub.users.get(userId) ?? []) s.deliver(stream.id, recorded.revision, frame);
    }
  }

  /** What a user deleted for themselves goes to all their devices online here. */
  private deliverToOwnDevices(userId: string, recorded: RecordedEvent, event: PersonalViewEvent): void {
    const sessions = this.deps.hub.users.get(userId);
    if (!sessions) return;
    const { conversationId } = event.data;
    const frame = serializeEventFrame({
      type: 'event',
      conversationId,
      seq: recorded.revision,
      stream: 'user',
      event: { type: recorded.type, data: recorded.data, at: recorded.metadata.at },
    });
    for (const s of sessions) s.deliver(userStream(userId), recorded.revision, frame);
  }

  /**
   * A lagging feed can bring a message here after it was recalled; it then goes out without its
   * content, like every other read after the recall. The feed's own state is as of this event, so
   * the recalls come from the write side's newest state. It is peeked, never loaded: a store read
   * per live message would cost the hot path a round trip, and a recall this instance has not seen
   * yet still reaches the client as its own event right after.
   */
  private readableLive(conversationId: string, recorded: RecordedEvent): unknown {
    if (recorded.type !== 'MessageSent' && recorded.type !== 'MessageEdited') return recorded.data;
    const recalledSeqs = this.deps.writeSide.peek(conversationId)?.recalledSeqs;
    return recalledSeqs ? readableEventData(recorded.type, recorded.data, recorded.revision, recalledSeqs) : recorded.data;
  }

  /** Sends and reads are user activity wherever they came from (REST or WebSocket); delivery acks are not. */
  private noteActivity(conversationId: string, event: ConversationEvent, at: string): void {
    if (event.type === 'MessageSent') {
      this.deps.presence.touch(event.data.senderId, at);
      this.deps.typing.sent(conversationId, event.data.senderId);
    } else if (event.type === 'MessageRead') {
      this.deps.presence.touch(event.data.userId, at);
    }
  }
}
