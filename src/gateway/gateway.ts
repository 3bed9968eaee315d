import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { TokenService } from '../api/auth.js';
import type { RateLimits } from '../api/limits.js';
import type { ChatService } from '../commands/service.js';
import type { Homes, Signal, Signals } from '../datacenters/index.js';
import type { EventStore, Subscription } from '../eventstore/port.js';
import type { ConversationFeed } from '../feed/index.js';
import type { InstanceBus } from '../instances/index.js';
import type { ContactQueries, ConversationQueries, InboxQueries } from '../projections/ports.js';
import { announcePresence, forwardTyping, type EphemeralFanOutDeps } from './ephemeralFanOut.js';
import { EventFanOut } from './fanOut.js';
import type { FloodOptions } from './flood.js';
import { handleFrame, type FrameHandlerDeps } from './frameHandlers.js';
import { ConnectionHub } from './hub.js';
import type { PresenceTracker, PresenceView } from './presence.js';
import { replaySync } from './syncReplay.js';
import { TypingTracker, type TypingOptions } from './typing.js';

export interface GatewayDeps {
  store: EventStore;
  service: ChatService;
  media: FrameHandlerDeps['media'];
  readStore: InboxQueries & Pick<ContactQueries, 'listContacts'> & Pick<ConversationQueries, 'getConversation'>;
  tokens: TokenService;
  /** The process's one conversation feed, followed for live delivery. */
  feed: ConversationFeed;
  waitForProjections(position: number): Promise<boolean>;
  logger: Logger;
  maxPayloadBytes: number;
  heartbeatIntervalMs: number;
  /** A socket silent for longer is dropped. */
  presenceTimeoutMs: number;
  presence: PresenceTracker;
  typing: TypingOptions;
  /** Groups with more members: typing is throttled per sender and presence is not fanned out. */
  inboxPullThreshold: number;
  limits: RateLimits;
  flood: FloodOptions;
  homes: Pick<Homes, 'misplaced'>;
  /** Typing and presence to and from the other datacenters. */
  signals: Signals;
  /** Typing and presence to and from the other instances of this datacenter. */
  instances: Pick<InstanceBus, 'relay' | 'onSignal'>;
}

/**
 * The WebSocket gateway, put together from its parts: the connection hub (sockets and sessions),
 * the event fan-out (live delivery from the feed), the frame handlers (which run a sync replay on
 * `sync`) and the typing and presence fan-out.
 */
export class Gateway {
  private readonly hub: ConnectionHub;
  private readonly typing: TypingTracker;
  private readonly fanOut: EventFanOut;
  private readonly ephemeral: EphemeralFanOutDeps;
  private feedSubscription: Subscription | null = null;

  constructor(private readonly deps: GatewayDeps) {
    const { logger } = deps;
    this.hub = new ConnectionHub({ ...deps, onFrame: (session, data, isBinary) => handleFrame(frameDeps, session, data, isBinary) });
    this.ephemeral = { ...deps, hub: this.hub, typingTtlMs: deps.typing.ttlMs };
    this.typing = new TypingTracker(deps.typing, (conversationId, userId, typing) => {
      this.typingHere(conversationId, userId, typing);
      this.spread({ kind: 'typing', conversationId, userId, typing });
    });
    this.fanOut = new EventFanOut({ hub: this.hub, writeSide: deps.service.conversations, presence: deps.presence, typing: this.typing });
    const syncDeps = { ...deps, livePosition: () => this.fanOut.position };
    const frameDeps: FrameHandlerDeps = {
      ...deps,
      typing: this.typing,
      sync: (session, frame) => replaySync(syncDeps, session, frame),
      stopping: () => this.hub.draining,
    };
  }

  get connectionCount(): number {
    return this.hub.connectionCount;
  }

  start(server: Server): void {
    this.feedSubscription = this.fanOut.follow(this.deps.feed, (err) => this.deps.logger.error({ err }, 'gateway feed failed; retrying'));
    this.hub.listen(server);
    this.deps.presence.onAnnounce((userId, view) => {
      this.presenceHere(userId, view);
      this.spread({ kind: 'presence', userId, ...view });
    });
    // What another DC relayed reached one instance here (its load balancer chose it): that one passes
    // it on to its sibling instances, which take it as from another DC too.
    this.deps.signals.onSignal((signal) => {
      this.fromElsewhere(signal, true);
      this.deps.instances.relay(signal, true);
    });
    this.deps.instances.onSignal((signal, fromAnotherDc) => this.fromElsewhere(signal, fromAnotherDc));
  }

  /** What happened on this instance, to the sockets on every other instance and in every other DC. */
  private spread(signal: Signal): void {
    this.deps.signals.relay(signal);
    this.deps.instances.relay(signal);
  }

  private typingHere(conversationId: string, userId: string, typing: boolean): void {
    forwardTyping(this.ephemeral, conversationId, userId, typing).catch((err) => this.deps.logger.error({ err }, 'typing fan-out failed'));
  }

  private presenceHere(userId: string, view: PresenceView): void {
    announcePresence(this.ephemeral, userId, view).catch((err) => this.deps.logger.error({ err }, 'presence fan-out failed'));
  }

  /**
   * A signal from elsewhere goes to the sockets here, and no further. The presence another DC
   * announced is remembered here; a sibling instance's needs not be, the DC-wide state is shared
   * (see SharedPresence).
   */
  private fromElsewhere(signal: Signal, fromAnotherDc: boolean): void {
    if (signal.kind === 'typing') return this.typingHere(signal.conversationId, signal.userId, signal.typing);
    const view = { online: signal.online, lastSeenAt: signal.lastSeenAt };
    if (fromAnotherDc) this.deps.presence.heard(signal.userId, view);
    this.presenceHere(signal.userId, view);
  }

  /** The account was erased: its open sockets here end, as its tokens already did. */
  endSessionsOf(userId: string): void {
    this.hub.closeSessionsOf(userId, 'this account was erased');
  }

  async stop(): Promise<void> {
    await this.hub.drain();
    this.typing.close();
    this.hub.closeSockets();
    await this.feedSubscription?.close();
    await this.hub.close();
  }
}
