import { Command } from 'commander';
import { z } from 'zod';
import { exportUser } from '../privacy/export.js';
import { CliError, withStores } from './context.js';

const userId = z.string().min(1).max(128);

export const exportUserCommand = () =>
  new Command('export-user')
    .description('Everything stored about a user, as JSON (a GDPR access request): account, profile, their events, their conversations')
    .argument('<userId>', 'the user')
    .action(async (id: string) => {
      const parsed = userId.safeParse(id);
      if (!parsed.success) throw new CliError('user id must be 1 to 128 characters');
      const exported = await withStores((stores) => exportUser(stores, parsed.data));
      if (!exported) throw new CliError(`no user ${parsed.data}`);
      process.stdout.write(JSON.stringify(exported, null, 2) + '\n');
    });
