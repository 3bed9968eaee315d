import type { ConversationState } from '../domain/conversation.js';
import type { ConversationEvent } from '../domain/events.js';
import { parseStreamId } from '../domain/streams.js';
import type { EventStore, RecordedEvent, Subscription } from '../eventstore/port.js';
import { toDomainEvent, type StateCache } from '../eventstore/stateCache.js';
import type { WriteBatch } from './model.js';
import { projectionNames, projectors, type ProjectionName, type ProjectorOptions } from './projectors.js';
import type { ReadStore } from './readStore.js';

export interface RunnerDeps {
  store: EventStore;
  readStore: ReadStore;
  conversations: StateCache<ConversationState, ConversationEvent>;
  options: ProjectorOptions;
  names?: ProjectionName[];
  onError?: (error: unknown) => void;
}

const PAGE = 1000;

/**
 * Runs projectors over the global feed. Each projection has its own checkpoint; one batch of
 * events becomes one write batch, applied with the advanced checkpoints in a single call.
 */
export class ProjectionRunner {
  private checkpoints: Record<string, number> = {};
  private subscription: Subscription | null = null;
  private waiters: { position: number; resolve(): void }[] = [];
  private readonly names: ProjectionName[];

  constructor(private readonly deps: RunnerDeps) {
    this.names = deps.names ?? projectionNames;
  }

  /** The lowest checkpoint: every projection has applied every event up to here. */
  get position(): number {
    return Math.min(...this.names.map((n) => this.checkpoints[n] ?? 0));
  }

  async start(): Promise<void> {
    await this.loadCheckpoints();
    this.subscription = this.deps.store.subscribeAll(
      { after: this.position, onError: this.deps.onError },
      (batch) => this.process(batch),
    );
  }

  /** Processes everything up to the current head, without subscribing (rebuilds, tests, CLI). */
  async catchUp(onProgress?: (position: number) => void): Promise<number> {
    await this.loadCheckpoints();
    for (;;) {
      const batch = await this.deps.store.readAll(this.position, PAGE);
      if (batch.length === 0) return this.position;
      await this.process(batch);
      onProgress?.(this.position);
    }
  }

  /** Resolves once every projection has applied `position`, or after the timeout (read-your-writes). */
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
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    this.subscription = null;
  }

  private async loadCheckpoints(): Promise<void> {
    this.checkpoints = await this.deps.readStore.checkpoints();
  }

  private async process(events: RecordedEvent[]): Promise<void> {
    const batch: WriteBatch = { writes: [], checkpoints: {} };
    for (const recorded of events) {
      const stream = parseStreamId(recorded.streamId);
      if (!stream) continue;
      const event = toDomainEvent(recorded);
      const conversation =
        stream.kind === 'conversation' ? await this.deps.conversations.after(stream.id, recorded) : null;
      const input = {
        event,
        streamKind: stream.kind,
        ownerId: stream.id,
        seq: recorded.revision,
        at: recorded.metadata.at,
        conversation,
      };
      for (const name of this.names) {
        if (recorded.position <= (this.checkpoints[name] ?? 0)) continue;
        for (const write of projectors[name](input, this.deps.options)) {
          batch.writes.push({ position: recorded.position, write });
        }
      }
    }
    const last = events[events.length - 1]!.position;
    for (const name of this.names) batch.checkpoints[name] = Math.max(this.checkpoints[name] ?? 0, last);
    await this.deps.readStore.apply(batch);
    Object.assign(this.checkpoints, batch.checkpoints);
    const reached = this.position;
    const ready = this.waiters.filter((w) => w.position <= reached);
    this.waiters = this.waiters.filter((w) => w.position > reached);
    for (const w of ready) w.resolve();
  }
}
