import type { Row } from '../lib/table.js';

export interface Options {
  quick: boolean;
  durationSec?: number;
  clients?: number;
  genProcs: number;
  /** When set, the chat server runs with --cpu-prof and writes its profile here. */
  cpuProfDir?: string;
}

export interface ScenarioResult {
  rows: Row[];
  details: Record<string, unknown>;
}

export type Scenario = (options: Options, dir: string) => Promise<ScenarioResult>;

/**
 * --cpu-prof for a process: each thread writes its own file (tsx's loader thread too), so the
 * default file names are kept, in one directory per scenario.
 */
export const profileArgs = (options: Options, tag: string): string[] =>
  options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}/${tag}`] : [];

/** Splits `items` into `n` nearly equal consecutive slices (none empty). */
export function split<T>(items: T[], n: number): T[][] {
  const parts = Math.max(1, Math.min(n, items.length));
  const size = Math.ceil(items.length / parts);
  return Array.from({ length: parts }, (_, i) => items.slice(i * size, (i + 1) * size)).filter((s) => s.length > 0);
}
