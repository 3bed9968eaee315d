import type { EventStore } from '../eventstore/port.js';
import { projectionNames } from './projectors.js';

/**
 * Events counted behind each checkpoint, at most: one page of `$all` on EventStoreDB, so /metrics and
 * /readyz, which ask often, cost one read per lagging checkpoint however far behind it is.
 */
export const LAG_COUNT_LIMIT = 1000;

export interface CheckpointLag {
  name: string;
  /** Projections are this build's read models; any other checkpoint belongs to a consumer (push, replication). */
  kind: 'projection' | 'consumer';
  position: number;
  /** Events stored after the checkpoint, counted up to a limit. */
  lagEvents: number;
  /** The count stopped at its limit: at least `lagEvents` events are behind. */
  lagEventsCapped: boolean;
  /** Age of the oldest event not applied yet; 0 when caught up. */
  lagSeconds: number;
}

/**
 * Lag of one checkpoint, given the events counted after it (up to `countLimit`) and when the first of
 * them was stored (null: caught up).
 */
export function lagOf(
  position: number,
  eventsAfter: number,
  countLimit: number,
  firstUnappliedAt: string | null,
  now: number,
): Omit<CheckpointLag, 'name' | 'kind'> {
  const lagSeconds = eventsAfter > 0 && firstUnappliedAt ? Math.max(0, (now - Date.parse(firstUnappliedAt)) / 1000) : 0;
  return { position, lagEvents: eventsAfter, lagEventsCapped: eventsAfter >= countLimit, lagSeconds };
}

/** The events behind a checkpoint as operators read them: `1000+` when the count stopped at its limit. */
export const describeLagEvents = (lag: Pick<CheckpointLag, 'lagEvents' | 'lagEventsCapped'>) =>
  `${lag.lagEvents}${lag.lagEventsCapped ? '+' : ''}`;

export interface CheckpointLagOptions {
  /** Events counted behind a checkpoint at most (see LAG_COUNT_LIMIT). */
  countLimit?: number;
  now?: number;
}

/**
 * Every projection (at 0 if it never ran) and every other stored checkpoint, with its lag behind
 * the head. Shared by `im status`, the /metrics gauges and /readyz.
 */
export async function checkpointLags(
  store: EventStore,
  checkpoints: Record<string, number>,
  { countLimit = LAG_COUNT_LIMIT, now = Date.now() }: CheckpointLagOptions = {},
): Promise<{ head: number; lags: CheckpointLag[] }> {
  const head = await store.headPosition();
  const names = [...new Set([...projectionNames, ...Object.keys(checkpoints).sort()])];
  const lags = await Promise.all(
    names.map(async (name): Promise<CheckpointLag> => {
      const position = checkpoints[name] ?? 0;
      const eventsAfter = await store.countAfter(position, countLimit);
      const next = eventsAfter > 0 ? (await store.readAll(position, 1))[0] : undefined;
      const kind = (projectionNames as string[]).includes(name) ? 'projection' : 'consumer';
      return { name, kind, ...lagOf(position, eventsAfter, countLimit, next?.metadata.at ?? null, now) };
    }),
  );
  return { head, lags };
}
