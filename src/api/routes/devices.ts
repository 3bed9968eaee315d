import { json, noBody } from '../answers.js';
import * as r from '../responses.js';
import { route } from '../route.js';
import * as s from '../schemas.js';
import type { ApiDeps } from './deps.js';

/** Push tokens of my devices. */
export function deviceRoutes({ service }: ApiDeps) {
  const { userCommands } = service;
  return [
    route({
      method: 'post',
      path: '/v1/devices',
      summary: 'Register a push token for my devices',
      body: s.deviceBody,
      status: 201,
      responses: { 201: json('Registered', r.device) },
      refusals: [404, 409],
      async handler({ principal, body, ctx }) {
        await userCommands.registerDevice(principal.userId, body.token, body.platform, ctx);
        return { body: { token: body.token, platform: body.platform } };
      },
    }),
    route({
      method: 'delete',
      path: '/v1/devices/:token',
      summary: 'Remove a push token',
      params: s.deviceParams,
      status: 204,
      responses: { 204: noBody('Removed') },
      refusals: [404, 409],
      async handler({ principal, params, ctx }) {
        await userCommands.removeDevice(principal.userId, params.token, ctx);
        return {};
      },
    }),
  ];
}
