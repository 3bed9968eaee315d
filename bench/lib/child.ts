import { readFileSync } from 'node:fs';

/**
 * The contract between the orchestrator and its child processes (load generators, the rebuild):
 * parameters arrive as a JSON file named by BENCH_PARAMS (tokens for thousands of clients do not
 * fit in one environment variable); progress and the result leave as one JSON object per
 * line on stdout, `{"kind": ...}`. Everything else a child prints goes to stderr.
 */
export function params<T>(): T {
  const file = process.env.BENCH_PARAMS;
  if (!file) throw new Error('BENCH_PARAMS is not set: run this through bench/run.ts');
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Resolves once the line is flushed: a child may exit right after its result, and pipes are asynchronous. */
export function report(kind: string, body: Record<string, unknown> = {}): Promise<void> {
  return new Promise((resolve) => process.stdout.write(JSON.stringify({ kind, ...body }) + '\n', () => resolve()));
}

/** Resolves when the orchestrator writes `line` to our stdin (e.g. "stop"). */
export function waitForCommand(line: string): Promise<void> {
  return new Promise((resolve) => {
    let buffer = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.split('\n').includes(line)) resolve();
    });
    process.stdin.on('end', () => resolve());
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `task` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await task(items[i]!, i);
    }
  });
  await Promise.all(workers);
}
