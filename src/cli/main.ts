import { Command } from 'commander';
import { createRequire } from 'node:module';
import { ConfigError } from '../config.js';
import { analyticsCommand } from './analytics.js';
import { CliError } from './context.js';
import { eventsCommand } from './events.js';
import { eraseUserCommand } from './eraseUser.js';
import { exportUserCommand } from './exportUser.js';
import { mediaCommand } from './media.js';
import { rebuildCommand } from './rebuild.js';
import { replayCommand } from './replay.js';
import { statusCommand } from './status.js';

const { version: packageVersion } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('im')
  .description(
    'Operator CLI of the chat backend. It reads the same environment as the server (DATA_DIR, EVENT_STORE, READ_STORE, ...) ' +
      'and works next to a running server.',
  )
  .version(packageVersion)
  .addCommand(statusCommand())
  .addCommand(rebuildCommand())
  .addCommand(replayCommand())
  .addCommand(eventsCommand())
  .addCommand(exportUserCommand())
  .addCommand(eraseUserCommand())
  .addCommand(analyticsCommand())
  .addCommand(mediaCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const expected = error instanceof CliError || error instanceof ConfigError;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`im: ${expected ? message : `failed: ${message}`}\n`);
  process.exitCode = error instanceof CliError ? error.exitCode : 1;
}
