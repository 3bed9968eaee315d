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

export const serverNodeArgs = (options: Options, tag: string): string[] =>
  options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`, `--cpu-prof-name=server-${tag}-${Date.now()}.cpuprofile`] : [];

/** Splits `items` into `n` nearly equal consecutive slices (none empty). */
export function split<T>(items: T[], n: number): T[][] {
  const parts = Math.max(1, Math.min(n, items.length));
  const size = Math.ceil(items.length / parts);
  return Array.from({ length: parts }, (_, i) => items.slice(i * size, (i + 1) * size)).filter((s) => s.length > 0);
}
