import { Command } from 'commander';
import { z } from 'zod';
import type { ConversationEvent, UserEvent } from '../domain/events.js';
import { redactUserEvent, REDACTED, usersNamedBy } from '../domain/personalData.js';
import { conversationStream, userStream } from '../domain/streams.js';
import type { UserState } from '../domain/user.js';
import type { EventStore, RecordedEvent } from '../eventstore/port.js';
import { toDomainEvent } from '../eventstore/stateCache.js';
import type { ConversationListItem } from '../projections/model.js';
import type { ConversationQueries } from '../projections/ports.js';
import { rankOf } from '../projections/ranking.js';
import { CliError, withStores } from './context.js';

const userId = z.string().min(1).max(128);
const PAGE = 500;

const timelineEntry = (e: RecordedEvent, event: { type: string; data: unknown }) => ({
  seq: e.revision,
  type: event.type,
  at: e.metadata.at,
  data: event.data,
});

/** The account as folded from the user's stream, without the password hash itself. */
export function accountOf(state: UserState) {
  return {
    username: state.username,
    displayName: state.displayName,
    avatar: state.avatar,
    passwordHash: REDACTED,
    devices: [...state.devices].map(([token, platform]) => ({ token, platform })),
    conversationSettings: [...state.settings].map(([conversationId, s]) => ({ conversationId, ...s })),
  };
}

/** Every conversation the user is or was in, from the conversation-list read model, listed or not. */
async function memberships(readStore: ConversationQueries, id: string): Promise<ConversationListItem[]> {
  const all: ConversationListItem[] = [];
  for (;;) {
    const last = all[all.length - 1];
    const page = await readStore.listConversations(id, { limit: PAGE, cursor: last && rankOf(last), includeUnlisted: true });
    all.push(...page);
    if (page.length < PAGE) return all;
  }
}

/** The events of a conversation that name the user (as actor or subject). */
async function eventsNaming(store: EventStore, conversationId: string, id: string) {
  const events = await store.readStream(conversationStream(conversationId));
  return events.flatMap((e) => {
    const event = toDomainEvent(e) as ConversationEvent;
    return usersNamedBy(event).includes(id) ? [timelineEntry(e, event)] : [];
  });
}

export const exportUserCommand = () =>
  new Command('export-user')
    .description('Everything stored about a user, as JSON (a GDPR access request): account, profile, their events, their conversations')
    .argument('<userId>', 'the user')
    .action(async (id: string) => {
      const parsed = userId.safeParse(id);
      if (!parsed.success) throw new CliError('user id must be 1 to 128 characters');
      const exported = await withStores(async ({ store, readStore, server: { userFold } }) => {
        const recorded = await store.readStream(userStream(parsed.data));
        if (recorded.length === 0) throw new CliError(`no user ${parsed.data}`);
        let state = userFold.initialState(parsed.data);
        const userEvents = recorded.map((e) => {
          const event = toDomainEvent(e) as UserEvent;
          state = userFold.evolve(state, event, e.revision);
          return timelineEntry(e, redactUserEvent(event));
        });
        const conversations = [];
        for (const { conversation: c, membership } of await memberships(readStore, parsed.data)) {
          conversations.push({
            conversationId: c.conversationId,
            kind: c.kind,
            title: c.title,
            membership,
            events: await eventsNaming(store, c.conversationId, parsed.data),
          });
        }
        const [profile] = await readStore.getUsers([parsed.data]);
        return {
          userId: parsed.data,
          exportedAt: new Date().toISOString(),
          account: accountOf(state),
          profile: profile ?? null,
          userEvents,
          conversations,
        };
      });
      process.stdout.write(JSON.stringify(exported, null, 2) + '\n');
    });
