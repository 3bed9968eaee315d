import { defaultSettings } from '../../domain/user.js';
import { rankOf } from '../../projections/ranking.js';
import { json } from '../answers.js';
import * as r from '../responses.js';
import { route } from '../route.js';
import * as s from '../schemas.js';
import { conversationDetail, conversationListItem, decodeCursor, encodeCursor } from '../views.js';
import type { ApiDeps } from './deps.js';

export function conversationRoutes({ service, readStore }: ApiDeps) {
  const { conversationCommands: commands, userCommands, access } = service;
  const detail = async (userId: string, conversationId: string) => {
    const { state, maxSeq } = await access.visibleConversation(userId, conversationId);
    return conversationDetail(state, maxSeq);
  };

  return [
    route({
      method: 'post',
      path: '/v1/conversations',
      summary: 'Create a direct or group conversation (a direct one is unique per pair)',
      body: s.createConversationBody,
      status: 201,
      responses: {
        201: json('Created', r.conversation),
        200: json('The direct conversation of this pair, which existed already', r.conversation),
      },
      refusals: [404, 409],
      readYourWrites: true,
      async handler({ principal, body, ctx }) {
        const { conversationId, created, position } = await commands.create(principal.userId, body, ctx);
        return { status: created ? 201 : 200, body: await detail(principal.userId, conversationId), position };
      },
    }),
    route({
      method: 'get',
      path: '/v1/conversations',
      summary: 'My conversations: pinned first, then by last activity',
      query: s.listConversationsQuery,
      status: 200,
      responses: { 200: json('A page of my conversations', r.conversationList) },
      async handler({ principal, query }) {
        const rows = await readStore.listConversations(principal.userId, {
          limit: query.limit,
          cursor: query.cursor ? decodeCursor(query.cursor) : undefined,
          archived: query.archived,
        });
        const peers = rows.flatMap((r) => r.conversation.directMemberIds?.filter((id) => id !== principal.userId) ?? []);
        const profiles = new Map((await readStore.getUsers([...new Set(peers)])).map((u) => [u.userId, u]));
        const items = rows.map((r) => {
          const peerId = r.conversation.directMemberIds?.find((id) => id !== principal.userId);
          const peer = peerId ? profiles.get(peerId) : undefined;
          return conversationListItem(r, peer?.displayName ?? null, peer?.erased === true);
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
      responses: { 200: json('The conversation', r.conversation) },
      refusals: [403, 404],
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
      responses: { 200: json('The conversation, changed', r.conversation) },
      refusals: [403, 404, 409],
      readYourWrites: true,
      async handler({ principal, params, body, ctx }) {
        const { position } = await commands.update(principal.userId, params.id, body, ctx);
        return { body: await detail(principal.userId, params.id), position };
      },
    }),
    route({
      method: 'post',
      path: '/v1/conversations/:id/members',
      summary: 'Add a member (owner and admins)',
      params: s.conversationParams,
      body: s.addMemberBody,
      status: 201,
      responses: { 201: json('Added', r.conversation), 200: json('A member already: nothing changed', r.conversation) },
      refusals: [403, 404, 409],
      readYourWrites: true,
      async handler({ principal, params, body, ctx }) {
        const { events, position } = await commands.addMember(principal.userId, params.id, body.userId, ctx);
        return { status: events.length ? 201 : 200, body: await detail(principal.userId, params.id), position };
      },
    }),
    route({
      method: 'delete',
      path: '/v1/conversations/:id/members/:userId',
      summary: 'Remove a member (owner and admins), or leave (yourself)',
      params: s.memberParams,
      status: 200,
      responses: { 200: json('Removed, at `leftSeq`', r.memberLeft) },
      refusals: [403, 404, 409],
      readYourWrites: true,
      async handler({ principal, params, ctx }) {
        const { events, position } = await commands.removeMember(principal.userId, params.id, params.userId, ctx);
        return { body: { conversationId: params.id, userId: params.userId, leftSeq: events[0]!.seq }, position };
      },
    }),
    route({
      method: 'put',
      path: '/v1/conversations/:id/members/:userId/role',
      summary: "Change a member's role (owner); making someone owner hands ownership over",
      params: s.memberParams,
      body: s.roleBody,
      status: 200,
      responses: { 200: json('The conversation, changed', r.conversation) },
      refusals: [403, 404, 409],
      readYourWrites: true,
      async handler({ principal, params, body, ctx }) {
        const { position } = await commands.changeRole(principal.userId, params.id, params.userId, body.role, ctx);
        return { body: await detail(principal.userId, params.id), position };
      },
    }),
    route({
      method: 'put',
      path: '/v1/conversations/:id/settings',
      summary: 'My settings for a conversation: muted, pinned, archived',
      params: s.conversationParams,
      body: s.settingsBody,
      status: 200,
      responses: { 200: json('My settings for it, changed', r.conversationSettings) },
      refusals: [403, 404, 409],
      readYourWrites: true,
      async handler({ principal, params, body, ctx }) {
        const { settings, position } = await userCommands.changeSettings(principal.userId, params.id, body, ctx);
        return { body: { conversationId: params.id, ...defaultSettings(), ...settings }, position };
      },
    }),
  ];
}
