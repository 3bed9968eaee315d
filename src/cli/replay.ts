import { Command } from 'commander';
import { projectionNames, type ProjectionName } from '../projections/projectors.js';
import { ProjectionRunner } from '../projections/runner.js';
import { CliError, projectionName, requireAtMostHead, wholeNumber, withStores } from './context.js';
import { progressBar } from './progress.js';
import { interruptible } from './rebuild.js';

interface ReplayFlags {
  from: number;
  to?: number;
  projection?: ProjectionName;
  batchSize: number;
}

export const replayCommand = () =>
  new Command('replay')
    .description(
      'Apply a range of events to the live projections again. Idempotent: every write is guarded by the ' +
        "position of the event that made it, so intact documents stay as they are and missing ones come back.",
    )
    .requiredOption('--from <position>', "first position to apply: an event's position (as `im events --json` prints it), or 1 for the first event", wholeNumber(1))
    .option('--to <position>', 'last position to apply (default: the head)', wholeNumber(1))
    .option('--projection <name>', `only this projection (${projectionNames.join(', ')}); default all`, projectionName)
    .option('--batch-size <events>', 'events per write transaction', wholeNumber(1), 2000)
    .action((flags: ReplayFlags) => replay(flags));

async function replay({ from, to, projection, batchSize }: ReplayFlags): Promise<void> {
  await withStores(async ({ store, readStore, config, server }) => {
    const head = await store.headPosition();
    const last = to ?? head;
    requireAtMostHead('--from', from, head);
    requireAtMostHead('--to', last, head);
    if (last < from) throw new CliError(`--to ${last} is before --from ${from}`);
    const names = projection ? [projection] : projectionNames;
    const runner = new ProjectionRunner({
      store,
      readStore,
      conversations: server.newConversationCache(store),
      options: { inboxPullThreshold: config.INBOX_PULL_THRESHOLD },
      names,
    });
    // How many events lie between two positions is unknown without reading them: no total, no ETA.
    const progress = progressBar(`replay ${from}..${last}`, null);
    let events = 0;
    await interruptible(async (signal) => {
      const reached = await runner.replay(from, last, {
        pageSize: batchSize,
        signal,
        onBatch: (_position, count) => {
          events += count;
          progress.update(events);
        },
      });
      if (signal.aborted) {
        progress.stop();
        const applied = reached === 0 ? 'nothing was applied' : `positions ${from}..${reached} were applied, the rest was not`;
        throw new CliError(`replay interrupted: ${applied}`, 130);
      }
    });
    const { seconds, rate } = progress.stop();
    process.stdout.write(`replayed positions ${from}..${last} into ${names.join(', ')}: ${events} events in ${seconds.toFixed(1)} s (${rate} events/s)\n`);
  });
}
