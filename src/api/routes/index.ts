import type { ChatService } from '../commands/service.js';
import { DomainError, forbidden, notFound } from '../domain/errors.js';
import type { EventStore } from '../eventstore/port.js';
import type { AnalyticsStore, ContactQueries, ConversationQueries, InboxQueries } from '../projections/ports.js';
import { rankOf } from '../projections/ranking.js';
import type { TokenService } from './auth.js';
import { route, type RouteSpec } from './route.js';
import * as s from './schemas.js';
import {
  conversationDetail,
  conversationListItem,
  decodeCursor,
  encodeCursor,
  messageItem,
  messageReceipts,
  readableInbox,
  readableTimeline,
  syncItem,
} from './views.js';

export interface ApiDeps {
  service: ChatService;
  store: EventStore;
  readStore: ConversationQueries & InboxQueries & Pick<ContactQueries, 'sharesConversation'> & Pick<AnalyticsStore, 'analytics'>;
  tokens: TokenService;
  /** Resolves once the read models include `position`, so a client reads its own writes. */
  waitForProjections(position: number): Promise<unknown>;
  presence: PresenceReader;
}

/** Presence as the gateway tracks it. */
export interface PresenceReader {
  view(userId: string): Promise<{ online: boolean; lastSeenAt: string | null }>;
}

export function routes({ service, store, readStore, tokens, waitForProjections, presence }: ApiDeps): RouteSpec[] {
  const settle = async (position: number) => {
    if (position > 0) await waitForProjections(position);
  };
  const detail = async (userId: string, conversationId: string) => {
    const { state, maxSeq } = await service.visibleConversation(userId, conversationId);
    return conversationDetail(state, maxSeq);
  };

  return [
    route({
      method: 'post',
      path: '/v1/users',
      summary: 'Register a user',
      auth: false,
      body: s.registerBody,
      status: 201,
      async handler({ body, ctx }) {
        const { position, ...user } = await service.register(body, ctx);
        await settle(position);
        return { body: user };
      },
    }),
    route({
      method: 'get',
      path: '/v1/users',
      summary: 'Find a user by username',
      query: s.userLookupQuery,
      status: 200,
      async handler({ query }) {
        const user = await service.findByUsername(query.username);
        if (!user) throw notFound('user');
        return { body: { userId: user.userId, username: user.username, displayName: user.displayName } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/users/:id',
      summary: 'A user profile',
      params: s.userParams,
      status: 200,
      async handler({ params }) {
        const user = await service.requireUser(params.id);
        return { body: { userId: user.userId, username: user.username, displayName: user.displayName, avatar: user.avatar } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/users/:id/presence',
      summary: 'Whether a user is online and when they were last active (for users who share a conversation with them)',
      params: s.userParams,
      status: 200,
      async handler({ principal, params }) {
        await service.requireUser(params.id);
        if (params.id !== principal.userId && !(await readStore.sharesConversation(principal.userId, params.id))) {
          throw forbidden('you share no conversation with this user');
        }
        return { body: { userId: params.id, ...(await presence.view(params.id)) } };
      },
    }),
    route({
      method: 'patch',
      path: '/v1/me',
      summary: 'Update my profile',
      body: s.profileBody,
      status: 200,
      async handler({ principal, body, ctx }) {
        await service.userCommands.execute(principal.userId, { type: 'updateProfile', ...body }, ctx);
        const user = await service.requireUser(principal.userId);
        return { body: { userId: user.userId, username: user.username, displayName: user.displayName, avatar: user.avatar } };
      },
    }),
    route({
      method: 'post',
      path: '/v1/sessions',
      summary: 'Log in: exchange username and password for a bearer token',
      auth: false,
      body: s.sessionBody,
      status: 201,
      async handler({ body }) {
        const user = await service.authenticate(body.username, body.password);
        if (!user) throw new DomainError('unauthenticated', 'wrong username or password');
        return { body: { token: await tokens.issue(user.userId, body.deviceId), userId: user.userId } };
      },
    }),
    route({
      method: 'delete',
      path: '/v1/sessions/current',
      summary: 'Log out: the bearer token of this request is refused from now on',
      status: 204,
      async handler({ principal }) {
        await tokens.revoke(principal);
        return {};
      },
    }),
    route({
      method: 'post',
      path: '/v1/conversations',
      summary: 'Create a direct or group conversation (a direct one is unique per pair)',
      body: s.createConversationBody,
      status: 201,
      async handler({ principal, body, ctx }) {
        const { conversationId, created, position } = await service.createConversation(principal.userId, body, ctx);
        await settle(position);
        return { status: created ? 201 : 200, body: await detail(principal.userId, conversationId) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/conversations',
      summary: 'My conversations: pinned first, then by last activity',
      query: s.listConversationsQuery,
      status: 200,
      async handler({ principal, query }) {
        const rows = await readStore.listConversations(principal.userId, {
          limit: query.limit,
          cursor: query.cursor ? decodeCursor(query.cursor) : undefined,
          archived: query.archived,
        });
        const peers = rows.flatMap((r) => r.conversation.directMemberIds?.filter((id) => id !== principal.userId) ?? []);
        const names = new Map((await readStore.getUsers([...new Set(peers)])).map((u) => [u.userId, u.displayName]));
        const items = rows.map((r) => {
          const peer = r.conversation.directMemberIds?.find((id) => id !== principal.userId);
          return conversationListItem(r, peer ? (names.get(peer) ?? null) : null);
        });
        const last = rows[rows.length - 1];
        const nextCursor = last && rows.length === query.limit ? encodeCursor(rankOf(last)) : null;
        return { body: { items, nextCursor } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/conversations/:id',
      summary: 'A conversation with its members',
      params: s.conversationParams,
      status: 200,
      async handler({ principal, params }) {
        return { body: await detail(principal.userId, params.id) };
      },
    }),
    route({
      method: 'patch',
      path: '/v1/conversations/:id',
      summary: 'Change title, avatar or announcement (owner and admins)',
      params: s.conversationParams,
      body: s.updateConversationBody,
      status: 200,
      async handler({ principal, params, body, ctx }) {
        const outcome = await service.updateConversation(principal.userId, params.id, body, ctx);
        await settle(outcome.position);
        return { body: await detail(principal.userId, params.id) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/conversations/:id/members',
      summary: 'Add a member (owner and admins)',
      params: s.conversationParams,
      body: s.addMemberBody,
      status: 201,
      async handler({ principal, params, body, ctx }) {
        const outcome = await service.addMember(principal.userId, params.id, body.userId, ctx);
        await settle(outcome.position);
        return { status: outcome.events.length ? 201 : 200, body: await detail(principal.userId, params.id) };
      },
    }),
    route({
      method: 'delete',
      path: '/v1/conversations/:id/members/:userId',
      summary: 'Remove a member (owner and admins), or leave (yourself)',
      params: s.memberParams,
      status: 200,
      async handler({ principal, params, ctx }) {
        const outcome = await service.removeMember(principal.userId, params.id, params.userId, ctx);
        await settle(outcome.position);
        return { body: { conversationId: params.id, userId: params.userId, leftSeq: outcome.events[0]!.seq } };
      },
    }),
    route({
      method: 'put',
      path: '/v1/conversations/:id/members/:userId/role',
      summary: "Change a member's role (owner); making someone owner hands ownership over",
      params: s.memberParams,
      body: s.roleBody,
      status: 200,
      async handler({ principal, params, body, ctx }) {
        const outcome = await service.changeRole(principal.userId, params.id, params.userId, body.role, ctx);
        await settle(outcome.position);
        return { body: await detail(principal.userId, params.id) };
      },
    }),
    route({
      method: 'put',
      path: '/v1/conversations/:id/settings',
      summary: 'My settings for a conversation: muted, pinned, archived',
      params: s.conversationParams,
      body: s.settingsBody,
      status: 200,
      async handler({ principal, params, body, ctx }) {
        const outcome = await service.changeSettings(principal.userId, params.id, body, ctx);
        await settle(outcome.position);
        const settings = (await service.users.load(principal.userId)).state.settings.get(params.id);
        return { body: { conversationId: params.id, muted: false, pinned: false, archived: false, ...settings } };
      },
    }),
    route({
      method: 'post',
      path: '/v1/conversations/:id/messages',
      summary: 'Send a text message (idempotent by clientMsgId: a retry answers 200 with the original)',
      params: s.conversationParams,
      body: s.sendBody,
      status: 201,
      async handler({ principal, params, body, ctx }) {
        const sent = await service.send(principal.userId, params.id, body.clientMsgId, body.text, ctx);
        await settle(sent.position);
        return { status: sent.created ? 201 : 200, body: { messageId: sent.messageId, seq: sent.seq } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/conversations/:id/messages',
      summary: 'Message history by seq, ascending (only beforeSeq: the newest page before it)',
      params: s.conversationParams,
      query: s.messagesQuery,
      status: 200,
      async handler({ principal, params, query }) {
        const { maxSeq } = await service.visibleConversation(principal.userId, params.id);
        const items = await readStore.listMessages(params.id, { ...query, maxSeq });
        return { body: { items: items.map(messageItem) } };
      },
    }),
    route({
      method: 'patch',
      path: '/v1/conversations/:id/messages/:seq',
      summary: 'Edit my message (within 24 hours)',
      params: s.messageParams,
      body: s.editBody,
      status: 200,
      async handler({ principal, params, body, ctx }) {
        const outcome = await service.editMessage(principal.userId, params.id, params.seq, body.text, ctx);
        await settle(outcome.position);
        return { body: { seq: params.seq, eventSeq: outcome.events[0]!.seq } };
      },
    }),
    route({
      method: 'delete',
      path: '/v1/conversations/:id/messages/:seq',
      summary: 'Recall a message (its sender, or an owner or admin; within 24 hours)',
      params: s.messageParams,
      status: 200,
      async handler({ principal, params, ctx }) {
        const outcome = await service.recallMessage(principal.userId, params.id, params.seq, ctx);
        await settle(outcome.position);
        return { body: { seq: params.seq, eventSeq: outcome.events[0]!.seq } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/conversations/:id/messages/:seq/receipts',
      summary: 'Who of the members at the time has received and who has read a message',
      params: s.messageParams,
      status: 200,
      async handler({ principal, params }) {
        const { maxSeq } = await service.visibleConversation(principal.userId, params.id);
        const [message] = await readStore.listMessages(params.id, { afterSeq: params.seq - 1, beforeSeq: params.seq + 1, maxSeq, limit: 1 });
        if (!message) throw notFound('message');
        return { body: messageReceipts(message, await readStore.listMembers(params.id)) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/conversations/:id/events',
      summary: 'The timeline: every event of the conversation by seq, gap-free',
      params: s.conversationParams,
      query: s.eventsQuery,
      status: 200,
      async handler({ principal, params, query }) {
        const { maxSeq } = await service.visibleConversation(principal.userId, params.id);
        const fromRevision = (query.afterSeq ?? -1) + 1;
        const count = Math.min(query.limit, maxSeq - fromRevision + 1);
        const items = count > 0 ? await readableTimeline(store, service.conversations, params.id, fromRevision, count) : [];
        return { body: { items } };
      },
    }),
    ...(['read', 'delivered'] as const).map((marker) =>
      route({
        method: 'post',
        path: `/v1/conversations/:id/${marker}`,
        summary: marker === 'read' ? 'Move my read marker forward (implies delivered)' : 'Move my delivered marker forward',
        params: s.conversationParams,
        body: s.markerBody,
        status: 200,
        async handler({ principal, params, body, ctx }) {
          const { position, ...result } =
            marker === 'read'
              ? await service.markRead(principal.userId, params.id, body.upToSeq, ctx)
              : await service.markDelivered(principal.userId, params.id, body.upToSeq, ctx);
          await settle(position);
          return { body: result };
        },
      }),
    ),
    route({
      method: 'get',
      path: '/v1/sync',
      summary: 'Everything in my inbox after a userSeq (multi-device sync)',
      query: s.syncQuery,
      status: 200,
      async handler({ principal, query }) {
        const entries = await readStore.listInbox(principal.userId, query.afterUserSeq, query.limit);
        const nextUserSeq = entries.length ? entries[entries.length - 1]!.userSeq : query.afterUserSeq;
        const items = (await readableInbox(readStore, entries)).map(syncItem);
        return { body: { items, nextUserSeq, hasMore: entries.length === query.limit } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/admin/analytics',
      summary: 'Messages per conversation per hour, daily active senders, busiest conversations (admin token)',
      auth: 'admin',
      query: s.analyticsQuery,
      status: 200,
      async handler({ query }) {
        const since = query.since ?? new Date(Date.now() - 7 * 24 * 3600 * 1000).toISOString();
        return { body: { since, ...(await readStore.analytics({ since, limit: query.limit })) } };
      },
    }),
    route({
      method: 'post',
      path: '/v1/devices',
      summary: 'Register a push token for my devices',
      body: s.deviceBody,
      status: 201,
      async handler({ principal, body, ctx }) {
        await service.registerDevice(principal.userId, body.token, body.platform, ctx);
        return { body: { token: body.token, platform: body.platform } };
      },
    }),
    route({
      method: 'delete',
      path: '/v1/devices/:token',
      summary: 'Remove a push token',
      params: s.deviceParams,
      status: 204,
      async handler({ principal, params, ctx }) {
        await service.removeDevice(principal.userId, params.token, ctx);
        return {};
      },
    }),
  ];
}
