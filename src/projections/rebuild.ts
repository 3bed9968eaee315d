import type { EventStore } from '../eventstore/port.js';
import type { ConversationState } from '../domain/conversation.js';
import type { ConversationEvent } from '../domain/events.js';
import type { StateCache } from '../eventstore/stateCache.js';
import type { ProjectionName, ProjectorOptions } from './projectors.js';
import type { ReadStore } from './readStore.js';
import { ProjectionRunner } from './runner.js';

/**
 * Zero-downtime rebuilds, as each read store implements them: a shadow copy of some projections
 * is built next to the live one (which keeps serving and keeps being written), then swapped in.
 * SQLite: shadow tables and a rename inside one write transaction. MongoDB: shadow collections
 * and renameCollection while holding the projections' lease.
 */
export interface RebuildTarget {
  /**
   * Starts empty shadow copies of these projections, with their own checkpoints at 0. What an
   * interrupted rebuild left behind is dropped first; a rebuild already running is refused.
   */
  begin(projections: ProjectionName[]): Promise<ShadowBuild>;
}

export interface ShadowBuild {
  /** The shadow copies as a read store: a projection runner builds them like live ones. */
  readonly shadow: ReadStore;
  /**
   * Holds the live writers off, runs `finish` (which brings the shadow copies to the head), then
   * puts the shadow copies in place of the live ones and moves the live checkpoints to theirs: all
   * of it or none of it. The old copies are dropped afterwards.
   */
  swap(finish: () => Promise<unknown>): Promise<void>;
  /** Drops the shadow copies; the live projections were never touched. */
  discard(): Promise<void>;
}

export interface RebuildDeps {
  store: EventStore;
  target: RebuildTarget;
  conversations: StateCache<ConversationState, ConversationEvent>;
  options: ProjectorOptions;
}

export interface RebuildOptions {
  /** Events per write transaction: short ones keep the live writers' waits short. */
  pageSize: number;
  /** Ends the rebuild between two batches, discarding the shadow copies. */
  signal?: AbortSignal;
  onBatch?: (position: number, events: number) => Promise<void> | void;
}

/** Another rebuild holds the target; two at once would overwrite each other's shadow copies. */
export class RebuildRunning extends Error {}

export class RebuildInterrupted extends Error {
  constructor() {
    super('rebuild interrupted: the shadow copies were dropped and the live projections are untouched');
  }
}

/**
 * Rebuilds projections from position 0 without downtime: the shadow copies catch up in short
 * batches while the live ones keep serving, then the last few events are applied and the copies
 * swapped inside the target's swap, so the new copies start exactly where the old ones were.
 * Returns the position the rebuilt projections stand at.
 */
export async function rebuildProjections(
  names: ProjectionName[],
  deps: RebuildDeps,
  { pageSize, signal, onBatch }: RebuildOptions,
): Promise<number> {
  const build = await deps.target.begin(names);
  try {
    const runner = new ProjectionRunner({ ...deps, readStore: build.shadow, names });
    await runner.catchUp({ pageSize, signal, onBatch });
    if (signal?.aborted) throw new RebuildInterrupted();
    let position = 0;
    await build.swap(async () => {
      position = await runner.catchUp({ pageSize, onBatch });
    });
    return position;
  } catch (error) {
    await build.discard();
    throw error;
  }
}
