import type { EventStore } from '../eventstore/port.js';
import type { ConversationState } from '../domain/conversation.js';
import type { ConversationEvent } from '../domain/events.js';
import type { StateCache } from '../eventstore/stateCache.js';
import type { ProjectionName, ProjectorOptions } from './projectors.js';
import type { ProjectionSink } from './ports.js';
import { ProjectionRunner } from './runner.js';

/**
 * Zero-downtime rebuilds: a shadow copy of some projections is built next to the live one (which
 * keeps serving and keeps being written), then swapped in. Only the SQLite read store implements
 * this today (SqliteRebuildTarget: shadow tables, and a rename inside one IMMEDIATE transaction);
 * the CLI refuses a rebuild on any other read store.
 */
export interface RebuildTarget {
  /**
   * Starts empty shadow copies of these projections, with their own checkpoints at 0. What an
   * interrupted rebuild left behind is dropped first; a rebuild already running is refused.
   */
  begin(projections: ProjectionName[]): Promise<ShadowBuild>;
}

export interface ShadowBuild {
  /** The shadow copies as a sink: a projection runner builds them like live ones. */
  readonly shadow: ProjectionSink;
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
  /**
   * Events per batch while throttled, when smaller: a throttle paces whole batches, so a batch of
   * more than it allows in a second would arrive in bursts. The unthrottled chases use `pageSize`.
   */
  throttledPageSize?: number;
  /** Ends the rebuild between two batches, discarding the shadow copies. */
  signal?: AbortSignal;
  /** Called after every batch, throttled or not, with the position reached (progress). */
  onBatch?: (position: number, events: number) => Promise<void> | void;
  /**
   * Awaited after each batch up to the head as it stood when the rebuild began, and never after:
   * an operator's throttle slows the bulk of the work, but must not keep the rebuild chasing
   * writers that are faster than the throttle.
   */
  throttle?: (position: number, events: number) => Promise<void> | void;
}

/** Another rebuild holds the target; two at once would overwrite each other's shadow copies. */
export class RebuildRunning extends Error {}

export class RebuildInterrupted extends Error {
  constructor() {
    super('rebuild interrupted: the shadow copies were dropped and the live projections are untouched');
  }
}

/**
 * A cap on the unthrottled chases of the head before the swap. Applying outruns the writers in
 * practice, so each chase is shorter than the one before and a few suffice.
 */
const MAX_CHASES = 10;

/**
 * Rebuilds projections from position 0 without downtime: the shadow copies catch up in short
 * batches while the live ones keep serving, first (throttled) to the head as it stood at the start,
 * then (unthrottled) to the moving head until what is left fits in one batch; that rest is applied
 * and the copies swapped inside the target's swap, so the new copies start exactly where the old
 * ones were. Returns the position the rebuilt projections stand at.
 */
export async function rebuildProjections(
  names: ProjectionName[],
  deps: RebuildDeps,
  { pageSize, throttledPageSize = pageSize, signal, onBatch, throttle }: RebuildOptions,
): Promise<number> {
  const build = await deps.target.begin(names);
  try {
    const runner = new ProjectionRunner({ ...deps, readStore: build.shadow, names });
    const catchUpTo = async (until: number, paced: boolean): Promise<number> => {
      let events = 0;
      await runner.catchUp({
        pageSize: paced ? Math.min(pageSize, throttledPageSize) : pageSize,
        signal,
        until,
        onBatch: async (position, count) => {
          events += count;
          await onBatch?.(position, count);
          if (paced) await throttle?.(position, count);
        },
      });
      if (signal?.aborted) throw new RebuildInterrupted();
      return events;
    };
    await catchUpTo(await deps.store.headPosition(), true);
    // What a chase applies is what arrived during the stretch before it. One of at most a batch
    // leaves less than a batch for the swap, so the server's writers then wait no longer than for
    // any other batch of the rebuild. One that did not shrink means the writers outrun the applying
    // and chasing them is futile: the swap takes the rest under its lock instead (a longer wait for
    // the writers, but it ends, as the lock holds them off).
    let previous = Infinity;
    for (let chase = 0; chase < MAX_CHASES; chase++) {
      const applied = await catchUpTo(await deps.store.headPosition(), false);
      if (applied <= pageSize || applied >= previous) break;
      previous = applied;
    }
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
