import { LRUCache } from 'lru-cache';
import type { DomainError } from '../domain/errors.js';
import { parseStreamId, userStream } from '../domain/streams.js';
import type { EventStore, EventToAppend } from '../eventstore/port.js';
import { wrongDc } from './peerLink.js';
import type { Topology } from './topology.js';

/**
 * Which datacenter writes a stream (its home). A user's home is where they registered, a group's
 * where it was created, a direct conversation's is the home of the lower of its two user ids (the
 * creating command names it in ConversationCreated.homeDc), and a username's is picked from the name.
 * A stream's first event says where it lives, and that never changes, so answers are cached.
 */
export class Homes {
  private readonly known = new LRUCache<string, string>({ max: 100_000 });

  constructor(
    private readonly store: Pick<EventStore, 'readStream'>,
    readonly topology: Topology,
  ) {}

  get self(): string {
    return this.topology.self;
  }

  /**
   * The home of `streamId`. A stream not stored here yet is being created: at `namedHome` when the
   * creating command names one (a direct conversation's), else here.
   */
  async of(streamId: string, namedHome?: string): Promise<string> {
    const parsed = parseStreamId(streamId);
    if (!this.topology.multiple || !parsed) return this.self;
    if (parsed.kind === 'username') return this.topology.usernameHome(parsed.id);
    const cached = this.known.get(streamId);
    if (cached) return cached;
    const [first] = await this.store.readStream(streamId, { maxCount: 1 });
    if (!first) return namedHome ?? this.self;
    const home = homeNamedBy(first) ?? first.metadata.originDc;
    this.known.set(streamId, home);
    return home;
  }

  /** The home of a registered user, or null when their account has not reached this DC. */
  async ofUser(userId: string): Promise<string | null> {
    if (!this.topology.multiple) return this.self;
    const stream = userStream(userId);
    if (this.known.has(stream)) return this.known.get(stream)!;
    const [first] = await this.store.readStream(stream, { maxCount: 1 });
    return first ? this.of(stream) : null;
  }

  /** `wrong_dc` when the user's account belongs to another datacenter, where their clients should go. */
  async misplaced(userId: string): Promise<DomainError | null> {
    const home = await this.ofUser(userId);
    return home && home !== this.self ? wrongDc(home, this.topology.publicUrl(home)) : null;
  }

  /** The home of `streamId` when it is another datacenter, else null. */
  async elsewhere(streamId: string, namedHome?: string): Promise<string | null> {
    const home = await this.of(streamId, namedHome);
    return home === this.self ? null : home;
  }
}

/** ConversationCreated names the conversation's home; any other first event leaves it to its origin. */
export function homeNamedBy(event: Pick<EventToAppend, 'type' | 'data'> | undefined): string | undefined {
  if (event?.type !== 'ConversationCreated') return undefined;
  return (event.data as { homeDc?: string }).homeDc;
}
