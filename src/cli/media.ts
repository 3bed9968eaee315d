import { Command } from 'commander';
import { collectGarbage, openBlobStore } from '../media/index.js';
import { withStores, wholeNumber } from './context.js';
import { progressBar, type Progress } from './progress.js';

const HOUR_MS = 3600 * 1000;

const gcCommand = () =>
  new Command('gc')
    .description('Media files no message carries (recalled ones included) and uploaded longer ago than the grace period; a dry run unless --delete')
    .option('--grace-hours <hours>', 'keep files uploaded more recently than this', wholeNumber(1), 24)
    .option('--delete', 'remove them (without it, only list them)', false)
    .option('--json', 'print the result as JSON', false)
    .action(async (options: { graceHours: number; delete: boolean; json: boolean }) => {
      await withStores(async ({ config, readStore }) => {
        const media = await openBlobStore(config);
        let progress: Progress | undefined;
        try {
          const garbage = await collectGarbage(media.blobs, readStore, {
            graceMs: options.graceHours * HOUR_MS,
            nowMs: Date.now(),
            remove: options.delete,
            onProgress: (examined, total) => (progress ??= progressBar('media gc', total, 'files')).update(examined),
          });
          progress?.stop();
          const bytes = garbage.reduce((sum, g) => sum + g.bytes, 0);
          const result = { removed: options.delete, files: garbage.length, bytes, hashes: garbage.map((g) => g.hash) };
          if (options.json) console.log(JSON.stringify(result));
          else {
            for (const { hash, bytes: size } of garbage) console.log(`${hash}  ${size} bytes`);
            const verb = options.delete ? 'removed' : 'unreferenced (dry run: nothing removed; pass --delete to remove them)';
            console.log(`${garbage.length} files, ${bytes} bytes ${verb}`);
          }
        } finally {
          media.close();
        }
      });
    });

export const mediaCommand = () => new Command('media').description('Media files: garbage collection').addCommand(gcCommand());
