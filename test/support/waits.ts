import { setTimeout as pause } from 'node:timers/promises';

/**
 * How long a wait for a condition holds out before it fails its test. It is no claim about speed:
 * a condition is met in milliseconds on a quiet machine and in seconds on a loaded one, so only a
 * broken test reaches it, and the failure then names what was awaited and what was seen last.
 */
export const GIVE_UP_AFTER_MS = 60_000;

/** Between two reads of state that announces no change (a read model, a checkpoint). */
const POLL_INTERVAL_MS = 10;

/** Reads `probe` until `accepted` holds over its answer, and returns that answer. */
export async function eventually<T>(what: string, probe: () => Promise<T>, accepted: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + GIVE_UP_AFTER_MS;
  for (;;) {
    const value = await probe();
    if (accepted(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; last seen: ${JSON.stringify(value)?.slice(0, 2000)}`);
    await pause(POLL_INTERVAL_MS);
  }
}
