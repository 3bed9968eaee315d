import type { ConversationEvent, UserEvent } from '../domain/events.js';
import { redactUserEvent, REDACTED, usersNamedBy } from '../domain/personalData.js';
import { conversationStream, userStream } from '../domain/streams.js';
import { evolveUser, initialUserState, type UserState } from '../domain/user.js';
import type { EventStore, RecordedEvent } from '../eventstore/port.js';
import { toDomainEvent } from '../eventstore/stateCache.js';
import type { ConversationListItem } from '../projections/model.js';
import type { ConversationQueries } from '../projections/ports.js';
import { rankOf } from '../projections/ranking.js';

/*
 * Everything stored about one user, as one JSON document: the operator's `im export-user` and the
 * user's own `GET /v1/me/export` give the same one.
 */

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

/** The events of a conversation that name the user (as actor or subject): every message they sent among them. */
async function eventsNaming(store: EventStore, conversationId: string, id: string) {
  const events = await store.readStream(conversationStream(conversationId));
  return events.flatMap((e) => {
    const event = toDomainEvent(e) as ConversationEvent;
    return usersNamedBy(event).includes(id) ? [timelineEntry(e, event)] : [];
  });
}

export type UserExport = NonNullable<Awaited<ReturnType<typeof exportUser>>>;

/** The export of a user, or null when there is no such user. */
export async function exportUser(stores: { store: EventStore; readStore: ConversationQueries }, userId: string) {
  const { store, readStore } = stores;
  const recorded = await store.readStream(userStream(userId));
  if (recorded.length === 0) return null;
  let state = initialUserState(userId);
  const userEvents = recorded.map((e) => {
    const event = toDomainEvent(e) as UserEvent;
    state = evolveUser(state, event, e.revision);
    return timelineEntry(e, redactUserEvent(event));
  });
  const conversations = [];
  for (const { conversation: c, membership } of await memberships(readStore, userId)) {
    conversations.push({
      conversationId: c.conversationId,
      kind: c.kind,
      title: c.title,
      membership,
      events: await eventsNaming(store, c.conversationId, userId),
    });
  }
  const [profile] = await readStore.getUsers([userId]);
  return {
    userId,
    exportedAt: new Date().toISOString(),
    account: accountOf(state),
    profile: profile ?? null,
    userEvents,
    conversations,
  };
}
