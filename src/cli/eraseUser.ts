import { Command } from 'commander';
import { z } from 'zod';
import { ConversationAccess } from '../commands/conversationAccess.js';
import { UserCommands } from '../commands/userCommands.js';
import { Homes, Topology } from '../datacenters/index.js';
import type { UserEvent } from '../domain/events.js';
import type { UserState } from '../domain/user.js';
import { StateCache } from '../eventstore/stateCache.js';
import { accountKeys } from '../privacy/index.js';
import { CliError, withStores } from './context.js';

const userId = z.string().min(1).max(128);

export const eraseUserCommand = () =>
  new Command('erase-user')
    .description('Erase a user (the right to be forgotten): their key is deleted, so their messages, names and username can no longer be read (README, "Erasing an account")')
    .argument('<userId>', 'the user')
    .option('--yes', 'confirm: an erase cannot be undone')
    .action(async (id: string, options: { yes?: boolean }) => {
      const parsed = userId.safeParse(id);
      if (!parsed.success) throw new CliError('user id must be 1 to 128 characters');
      await withStores(async ({ config, personal, store, server }) => {
        const users = new StateCache<UserState, UserEvent>(store, server.userFold);
        const { state } = await users.load(parsed.data);
        if (!state.exists) throw new CliError(`no user ${parsed.data}`);
        if (state.erased) return process.stdout.write(`user ${parsed.data} was erased already\n`);
        const topology = new Topology(config.DC_ID, config.DC_PEERS, config.DC_PUBLIC_URLS);
        const home = await new Homes(store, topology).ofUser(parsed.data);
        if (home !== topology.self) throw new CliError(`user ${parsed.data} belongs to datacenter ${home}: run im erase-user there`);
        if (!options.yes) throw new CliError(`erasing ${state.username} (${parsed.data}) cannot be undone: run again with --yes`, 2);
        const commands = new UserCommands(store, users, new ConversationAccess(server.newConversationCache(store)), {
          ...accountKeys(personal.keys, personal.master, config.ERASED_USERNAME_GRACE_DAYS),
          dcId: config.DC_ID,
          usernameReservationTimeoutMs: config.USERNAME_RESERVATION_TIMEOUT_MS,
        });
        const { position } = await commands.erase(parsed.data, { correlationId: `cli-erase-${parsed.data}` });
        process.stdout.write(
          `erased user ${parsed.data} at position ${position}: the read models forget them when the projections reach it, and the other datacenters when it reaches them\n`,
        );
      });
    });
