import type { EventStore } from '../eventstore/port.js';
import { projectionNames } from './projectors.js';

export interface CheckpointLag {
  name: string;
  /** Projections are this build's read models; any other checkpoint belongs to a consumer (push, replication). */
  kind: 'projection' | 'consumer';
  position: number;
  /** Events stored after the checkpoint. */
  lagEvents: number;
  /** Age of the oldest event not applied yet; 0 when caught up. */
  lagSeconds: number;
}

/** Lag of one checkpoint, given when the first event after it was stored (null: caught up). */
export function lagOf(position: number, head: number, firstUnappliedAt: string | null, now: number): Omit<CheckpointLag, 'name' | 'kind'> {
  const lagEvents = Math.max(0, head - position);
  const lagSeconds = lagEvents > 0 && firstUnappliedAt ? Math.max(0, (now - Date.parse(firstUnappliedAt)) / 1000) : 0;
  return { position, lagEvents, lagSeconds };
}

/**
 * Every projection (at 0 if it never ran) and every other stored checkpoint, with its lag behind
 * the head. Shared by `im status`, the /metrics gauges and /readyz.
 */
export async function checkpointLags(
  store: EventStore,
  checkpoints: Record<string, number>,
  now = Date.now(),
): Promise<{ head: number; lags: CheckpointLag[] }> {
  const head = await store.headPosition();
  const names = [...new Set([...projectionNames, ...Object.keys(checkpoints).sort()])];
  const lags = await Promise.all(
    names.map(async (name): Promise<CheckpointLag> => {
      const position = checkpoints[name] ?? 0;
      const next = position < head ? (await store.readAll(position, 1))[0] : undefined;
      const kind = (projectionNames as string[]).includes(name) ? 'projection' : 'consumer';
      return { name, kind, ...lagOf(position, head, next?.metadata.at ?? null, now) };
    }),
  );
  return { head, lags };
}
