import { Presets, SingleBar } from 'cli-progress';

export interface Progress {
  /** `done` events applied so far. */
  update(done: number): void;
  stop(): { events: number; seconds: number; rate: number };
}

/** Events per second so far. */
export const rateOf = (events: number, ms: number) => (ms > 0 ? Math.round((events * 1000) / ms) : 0);

/**
 * How long to wait so that `events` processed in `elapsedMs` stay at or under `maxRate` per
 * second (an operator's throttle, to spare a busy production disk).
 */
export const pacingDelay = (events: number, elapsedMs: number, maxRate: number) =>
  Math.max(0, (events * 1000) / maxRate - elapsedMs);

/**
 * A progress bar on stderr with events/s, and with an ETA when the events to apply are known
 * (`total`; null shows the events and the rate only). Events written while the command runs take
 * the count past `total`, which then follows it. Without a terminal it prints a plain line every
 * second instead, so logs of a long rebuild still show how it goes.
 */
export function progressBar(label: string, total: number | null, unit = 'events'): Progress {
  const format =
    total === null
      ? `${label} | {value} ${unit} | {rate} ${unit}/s`
      : `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`;
  const bar = new SingleBar(
    { format, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 1000, etaBuffer: 50, hideCursor: true },
    Presets.shades_classic,
  );
  const started = Date.now();
  let events = 0;
  let shown = false;
  return {
    update(done) {
      // Shown from the first batch on, so that a command refused up front prints only its error.
      if (!shown) bar.start(total ?? 0, 0, { rate: 0 });
      shown = true;
      events = done;
      bar.setTotal(Math.max(total ?? 0, done));
      bar.update(done, { rate: rateOf(done, Date.now() - started) });
    },
    stop() {
      if (shown) bar.stop();
      const ms = Date.now() - started;
      return { events, seconds: ms / 1000, rate: rateOf(events, ms) };
    },
  };
}
