import { DomainError } from '../../domain/errors.js';
import { json, noBody } from '../answers.js';
import * as r from '../responses.js';
import { route } from '../route.js';
import * as s from '../schemas.js';
import type { ApiDeps } from './deps.js';

export function sessionRoutes({ service, tokens, homes }: ApiDeps) {
  return [
    route({
      method: 'post',
      path: '/v1/sessions',
      summary: 'Log in: exchange username and password for a bearer token',
      auth: false,
      body: s.sessionBody,
      status: 201,
      responses: { 201: json('A bearer token for this user', r.session) },
      refusals: [401, 409],
      rateLimit: 'login',
      async handler({ body }) {
        const user = await service.userCommands.authenticate(body.username, body.password);
        if (!user) throw new DomainError('unauthenticated', 'wrong username or password');
        // Only the home DC knows whether the user is online and pushes to them, so clients log in there.
        const misplaced = await homes.misplaced(user.userId);
        if (misplaced) throw misplaced;
        return { body: { token: await tokens.issue(user.userId, body.deviceId), userId: user.userId } };
      },
    }),
    route({
      method: 'delete',
      path: '/v1/sessions/current',
      summary: 'Log out: the bearer token of this request is refused from now on',
      status: 204,
      responses: { 204: noBody('Logged out') },
      async handler({ principal }) {
        await tokens.revoke(principal);
        return {};
      },
    }),
  ];
}
