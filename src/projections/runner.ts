import { setTimeout as sleep } from 'node:timers/promises';
import type { EventStore, RecordedEvent, Subscription } from '../eventstore/port.js';
import type { FencingToken } from '../lease/port.js';
import { toFeedItem, type ConversationCache, type ConversationFeed, type FeedItem } from '../feed/index.js';
import { messageFacts } from './analytics.js';
import type { WriteBatch } from './model.js';
import { projectionNames, projectors, type ProjectionName, type ProjectorOptions } from './projectors.js';
import type { AnalyticsStore, ProjectionSink } from './ports.js';

export interface RunnerDeps {
  store: EventStore;
  readStore: ProjectionSink;
  /** Folds for catchUp and replay, which read the store themselves. */
  conversations: ConversationCache;
  /** The live feed start() follows; runners that only catch up (rebuilds, the CLI) have none. */
  feed?: ConversationFeed;
  options: ProjectorOptions;
  names?: ProjectionName[];
  onError?: (error: unknown) => void;
  /**
   * Where to also record the analytics facts of the local feed. Absent when the Kafka analytics
   * consumer does it for every datacenter's events instead.
   */
  analytics?: Pick<AnalyticsStore, 'recordMessageFacts'>;
}

export interface CatchUpOptions {
  /** Events per read and per write batch (one transaction each). */
  pageSize?: number;
  /** Stops between batches once aborted; what was applied so far stays, with its checkpoints. */
  signal?: AbortSignal;
  /** Called after every batch with the position reached; awaited, so it can also pace the run. */
  onBatch?: (position: number, events: number) => Promise<void> | void;
}

export interface CatchUpUntilOptions extends CatchUpOptions {
  /**
   * Stops once every projection has applied this position, even while newer events keep coming:
   * a catch-up that only stopped at the head would never end behind writers faster than itself.
   */
  until?: number;
}

const PAGE = 1000;
/** The lease projections run under: on one instance at a time, its writes fenced by the lease's epoch. */
export const PROJECTIONS_LEASE = 'projections';
/**
 * How often an instance that does not project (another holds the projections lease) reads the
 * stored checkpoints while requests wait for the read models.
 */
const STANDBY_POLL_MS = 20;

/** One event's writes, with the event for its analytics facts. */
interface Projected {
  recorded: RecordedEvent;
  writes: WriteBatch['writes'];
}

/**
 * A replay starting at `from` joins up with a checkpoint when no event lies between the two: the
 * first event after the checkpoint (`nextAfterCheckpoint`, null when there is none) is at or after
 * `from`. Positions only compare, so "the position just before `from`" is never computed.
 */
export const joinsUp = (nextAfterCheckpoint: number | null, from: number): boolean =>
  nextAfterCheckpoint === null || nextAfterCheckpoint >= from;

/**
 * A replay moves a checkpoint only when its range joins up with it: past a gap, the events in
 * between were never applied and must stay ahead of the checkpoint.
 */
export function replayedCheckpoint(checkpoint: number, joined: boolean, reached: number): number {
  return joined ? Math.max(checkpoint, reached) : checkpoint;
}

/**
 * Runs projectors over the conversation feed when started, or over the store for a catch-up or a
 * replay. Each projection has its own checkpoint; one batch of events becomes one write batch,
 * applied with the advanced checkpoints in a single call.
 */
export class ProjectionRunner {
  private checkpoints: Record<string, number> = {};
  private subscription: Subscription | null = null;
  private waiters: { position: number; resolve(): void }[] = [];
  private polling = false;
  /** The projections lease's token while this instance projects under it. */
  private fence: FencingToken | undefined;
  private readonly names: ProjectionName[];

  constructor(private readonly deps: RunnerDeps) {
    this.names = deps.names ?? projectionNames;
  }

  /** The lowest checkpoint: every projection has applied every event up to here. */
  get position(): number {
    return Math.min(...this.names.map((n) => this.checkpoints[n] ?? 0));
  }

  /** Follows the feed; with a fence, every batch carries it (see ProjectionSink.apply). */
  async start(fence?: FencingToken): Promise<void> {
    if (!this.deps.feed) throw new Error('a projection runner without a feed only catches up');
    this.fence = fence;
    await this.loadCheckpoints();
    this.subscription = this.deps.feed.follow(
      { name: 'projections', take: (item) => this.project(item, false), handle: (works, position) => this.apply(works, position) },
      { after: this.position, onError: this.deps.onError },
    );
  }

  /**
   * Processes everything up to the head, or up to `until`, without subscribing (rebuilds, tests,
   * CLI). Returns the position every projection has reached.
   */
  async catchUp({ pageSize = PAGE, signal, onBatch, until }: CatchUpUntilOptions = {}): Promise<number> {
    await this.loadCheckpoints();
    const reachedTarget = () => until !== undefined && this.position >= until;
    while (!signal?.aborted && !reachedTarget()) {
      const page = await this.deps.store.readAll(this.position, pageSize);
      const batch = until === undefined ? page : page.filter((e) => e.position <= until);
      if (batch.length === 0) break;
      await this.process(batch);
      await onBatch?.(this.position, batch.length);
    }
    return this.position;
  }

  /**
   * Applies the events with from <= position <= to again. Every write is still guarded by its
   * document's position, so documents that are intact do not change; missing ones come back.
   * Returns the position of the last event applied, 0 when none was.
   */
  async replay(from: number, to: number, { pageSize = PAGE, signal, onBatch }: CatchUpOptions = {}): Promise<number> {
    await this.loadCheckpoints();
    const joined = await this.checkpointsJoiningUp(from);
    let reached = 0;
    let page = await this.deps.store.readAllFrom(from, pageSize);
    while (!signal?.aborted) {
      const events = page.filter((e) => e.position <= to);
      if (events.length === 0) break;
      await this.process(events, joined);
      reached = events[events.length - 1]!.position;
      await onBatch?.(reached, events.length);
      // A page that went past `to`, or was not full, holds the last events of the range.
      if (events.length < pageSize) break;
      page = await this.deps.store.readAll(reached, pageSize);
    }
    return reached;
  }

  /**
   * Resolves once every projection has applied `position`, or after the timeout (read-your-writes).
   * While this runner does not project, another instance does: the stored checkpoints tell.
   */
  waitFor(position: number, timeoutMs = 5000): Promise<boolean> {
    if (this.position >= position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.waiters.push(waiter);
      if (!this.subscription) void this.followStoredCheckpoints();
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    this.subscription = null;
  }

  private async loadCheckpoints(): Promise<void> {
    this.checkpoints = await this.deps.readStore.checkpoints();
  }

  /** Reads the stored checkpoints while requests wait and this runner does not project itself. */
  private async followStoredCheckpoints(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      while (this.waiters.length > 0 && !this.subscription) {
        const stored = await this.deps.readStore.checkpoints().catch(() => null);
        // Started meanwhile: its own checkpoints are the newer ones.
        if (stored && !this.subscription) {
          this.checkpoints = stored;
          this.resolveWaiters();
        }
        if (this.waiters.length > 0) await sleep(STANDBY_POLL_MS);
      }
    } finally {
      this.polling = false;
    }
  }

  private resolveWaiters(): void {
    const reached = this.position;
    const ready = this.waiters.filter((w) => w.position <= reached);
    this.waiters = this.waiters.filter((w) => w.position > reached);
    for (const w of ready) w.resolve();
  }

  /**
   * The projections a replay from `from` may move the checkpoints of. Decided once, before the
   * replay moves any: from then on each moved checkpoint is within the range it applies.
   */
  private async checkpointsJoiningUp(from: number): Promise<ReadonlySet<ProjectionName>> {
    const joined = new Set<ProjectionName>();
    for (const name of this.names) {
      const [next] = await this.deps.store.readAll(this.checkpoints[name] ?? 0, 1);
      if (joinsUp(next?.position ?? null, from)) joined.add(name);
    }
    return joined;
  }

  /**
   * Projects events read from the store; `replayJoined` marks an operator's replay, naming the
   * projections whose checkpoints its range joins up with.
   */
  private async process(events: RecordedEvent[], replayJoined?: ReadonlySet<ProjectionName>): Promise<void> {
    const projected: Projected[] = [];
    for (const recorded of events) {
      const item = await toFeedItem(recorded, this.deps.conversations);
      if (item) projected.push(this.project(item, replayJoined !== undefined));
    }
    await this.apply(projected, events[events.length - 1]!.position, replayJoined);
  }

  /** The writes of one event; synchronous, as the item's state is only lent (see FeedConsumer). */
  private project({ recorded, stream, event, state }: FeedItem, reapply: boolean): Projected {
    const input = { event, streamKind: stream.kind, ownerId: stream.id, seq: recorded.revision, at: recorded.metadata.at, conversation: state };
    const writes: Projected['writes'] = [];
    for (const name of this.names) {
      if (!reapply && recorded.position <= (this.checkpoints[name] ?? 0)) continue;
      for (const write of projectors[name](input, this.deps.options)) writes.push({ projection: name, position: recorded.position, write });
    }
    return { recorded, writes };
  }

  /** Applies the writes of events up to `last` with the checkpoints they reach, in one batch. */
  private async apply(projected: Projected[], last: number, replayJoined?: ReadonlySet<ProjectionName>): Promise<void> {
    const reapply = replayJoined !== undefined;
    const batch: WriteBatch = { writes: projected.flatMap((p) => p.writes), checkpoints: {}, reapply };
    for (const name of this.names) {
      const current = this.checkpoints[name] ?? 0;
      batch.checkpoints[name] = reapply ? replayedCheckpoint(current, replayJoined.has(name), last) : Math.max(current, last);
    }
    await this.deps.readStore.apply(batch, this.fence);
    // Facts are keyed by event id, so recording a batch again changes nothing.
    await this.deps.analytics?.recordMessageFacts(messageFacts(projected.map((p) => p.recorded)));
    Object.assign(this.checkpoints, batch.checkpoints);
    this.resolveWaiters();
  }
}
