import { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectionNames, type ProjectionName } from '../projections/projectors.js';
import { rebuildProjections, RebuildInterrupted, RebuildRunning } from '../projections/rebuild.js';
import { CliError, projectionsOrAll, wholeNumber, withStores } from './context.js';
import { pacingDelay, progressBar } from './progress.js';

/**
 * Events counted up front for the progress bar's total and ETA, at most: a count is cheap on SQLite,
 * but EventStoreDB reads the events to count them. A larger store shows events/s without an ETA.
 */
const PROGRESS_COUNT_LIMIT = 1_000_000;

interface RebuildFlags {
  batchSize: number;
  maxRate?: number;
}

/** Runs `work` with an AbortSignal that Ctrl-C (or SIGTERM) aborts, instead of killing the process. */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.on('SIGINT', abort);
  process.on('SIGTERM', abort);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
}

export const rebuildCommand = () =>
  new Command('rebuild')
    .description(
      'Rebuild projections from position 0 into shadow copies while the server keeps serving the live ones, ' +
        'then swap them in at once. Ctrl-C stops it and leaves the live projections untouched.',
    )
    .argument('<projection>', `${projectionNames.join(', ')} or all`, projectionsOrAll)
    .option('--batch-size <events>', 'events per write transaction (short ones keep the server waiting less)', wholeNumber(1), 2000)
    .option(
      '--max-rate <events/s>',
      'throttle: apply at most this many events per second up to the head as it was at the start; events ' +
        'written during the rebuild are applied after that unthrottled (the last few while the swap holds ' +
        'the writers off), so the rebuild always ends',
      wholeNumber(1),
    )
    .action((names: ProjectionName[], flags: RebuildFlags) => rebuild(names, flags));

async function rebuild(names: ProjectionName[], { batchSize, maxRate }: RebuildFlags): Promise<void> {
  await withStores(async ({ store, rebuilds, config, server }) => {
    const toApply = await store.countAfter(0, PROGRESS_COUNT_LIMIT);
    const label = `rebuild ${names.length === projectionNames.length ? 'all' : names.join(',')}`;
    const progress = progressBar(label, toApply < PROGRESS_COUNT_LIMIT ? toApply : null);
    const started = Date.now();
    let events = 0;
    try {
      const position = await interruptible((signal) =>
        rebuildProjections(
          names,
          { store, target: rebuilds, conversations: server.newConversationCache(store), options: { inboxPullThreshold: config.INBOX_PULL_THRESHOLD } },
          {
            pageSize: batchSize,
            throttledPageSize: maxRate,
            signal,
            onBatch: (_position, count) => {
              events += count;
              progress.update(events);
            },
            throttle: maxRate ? () => sleep(pacingDelay(events, Date.now() - started, maxRate)) : undefined,
          },
        ),
      );
      const { seconds, rate } = progress.stop();
      process.stdout.write(
        `rebuilt ${names.join(', ')}: ${events} events in ${seconds.toFixed(1)} s (${rate} events/s); swapped in at position ${position}\n`,
      );
    } catch (error) {
      progress.stop();
      if (error instanceof RebuildInterrupted) throw new CliError(error.message, 130);
      if (error instanceof RebuildRunning) throw new CliError(error.message);
      throw error;
    }
  });
}
