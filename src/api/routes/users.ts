import { profileOf } from '../../commands/userCommands.js';
import { forbidden, notFound } from '../../domain/errors.js';
import { json } from '../answers.js';
import * as r from '../responses.js';
import { route } from '../route.js';
import * as s from '../schemas.js';
import type { ApiDeps } from './deps.js';

export function userRoutes({ service, readStore, presence }: ApiDeps) {
  const { userCommands } = service;
  return [
    route({
      method: 'post',
      path: '/v1/users',
      summary: 'Register a user',
      auth: false,
      body: s.registerBody,
      status: 201,
      responses: { 201: json('The user, registered', r.registeredUser) },
      refusals: [409],
      readYourWrites: true,
      async handler({ body, ctx }) {
        const { position, ...user } = await userCommands.register(body, ctx);
        return { body: user, position };
      },
    }),
    route({
      method: 'get',
      path: '/v1/users',
      summary: 'Find a user by username',
      query: s.userLookupQuery,
      status: 200,
      responses: { 200: json('The user of that username', r.registeredUser) },
      refusals: [404],
      async handler({ query }) {
        const user = await userCommands.findByUsername(query.username);
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
      responses: { 200: json('The profile', r.profile) },
      refusals: [404],
      async handler({ params }) {
        return { body: profileOf(await userCommands.requireUser(params.id)) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/users/:id/presence',
      summary: 'Whether a user is online and when they were last active (for users who share a conversation with them)',
      params: s.userParams,
      status: 200,
      responses: { 200: json('Online now, or when last active', r.presence) },
      refusals: [403, 404],
      async handler({ principal, params }) {
        const user = await userCommands.requireUser(params.id);
        if (params.id !== principal.userId && !(await readStore.sharesConversation(principal.userId, params.id))) {
          throw forbidden('you share no conversation with this user');
        }
        // When an erased account was last active is its personal data too.
        if (user.erased) return { body: { userId: params.id, online: false, lastSeenAt: null } };
        return { body: { userId: params.id, ...(await presence.view(params.id)) } };
      },
    }),
    route({
      method: 'patch',
      path: '/v1/me',
      summary: 'Update my profile',
      body: s.profileBody,
      status: 200,
      responses: { 200: json('My profile, changed', r.profile) },
      refusals: [404, 409],
      async handler({ principal, body, ctx }) {
        return { body: await userCommands.updateProfile(principal.userId, body, ctx) };
      },
    }),
  ];
}
