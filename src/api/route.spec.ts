import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buffer } from 'node:stream/consumers';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { openSqlite } from '../db/sqlite.js';
import { TokenService } from './auth.js';
import { describeError } from './errors.js';
import { RateLimits } from './limits.js';
import { SqliteRevocationStore } from './revocations.js';
import { json, noBody } from './answers.js';
import { mount, route } from './route.js';

const APPENDED_AT = 7;

/** The route runner in a bare express app, with real tokens and limits, counting token checks and projection waits. */
function runnerApp() {
  const real = new TokenService(new TextEncoder().encode('k'.repeat(32)), 3600, new SqliteRevocationStore(openSqlite(':memory:')));
  const counts = { verified: 0 };
  const tokens = Object.assign(Object.create(real) as TokenService, {
    verify(token: string) {
      counts.verified++;
      return real.verify(token);
    },
  });
  const limits = new RateLimits({ sendsPerUser: 5, sendsPerIp: 1, sendWindowSeconds: 60, loginsPerUser: 5, loginsPerIp: 5, loginWindowSeconds: 60 });
  const waited: number[] = [];
  const app = express();
  const router = express.Router();
  const routes = [
    route({ method: 'post', path: '/send', summary: 'a send', status: 201, responses: { 201: noBody('sent') }, rateLimit: 'send', handler: async () => ({}) }),
    route({
      method: 'post',
      path: '/write',
      summary: 'reads its writes',
      status: 200,
      responses: { 200: noBody('written') },
      readYourWrites: true,
      handler: async () => ({ position: APPENDED_AT }),
    }),
    route({ method: 'post', path: '/quiet', summary: 'no waiting', status: 200, responses: { 200: noBody('written') }, handler: async () => ({ position: APPENDED_AT }) }),
    route({
      method: 'post',
      path: '/json',
      summary: 'takes JSON',
      status: 200,
      responses: { 200: json('the body', z.object({ n: z.number() })) },
      body: z.object({ n: z.number() }),
      handler: async ({ body }) => ({ body }),
    }),
    route({
      method: 'post',
      path: '/raw',
      summary: 'streams its body',
      status: 200,
      responses: { 200: json('its length', z.object({ bytes: z.number() })) },
      streamBody: true,
      handler: async ({ stream }) => ({ body: { bytes: (await buffer(stream)).length } }),
    }),
  ];
  mount(router, routes, { tokens, adminToken: undefined, limits, waitForProjections: async (position) => waited.push(position), bodyLimitBytes: 1024 });
  app.use(router);
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(describeError(error).status).json(describeError(error));
  });
  return { app, real, counts, waited };
}

describe('route runner', () => {
  const { app, real, counts, waited } = runnerApp();
  const server = app.listen(0);
  const url = (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  const post = (path: string, token?: string) =>
    fetch(url(path), { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} }).then((res) => res.status);
  let token: string;
  before(async () => {
    token = await real.issue('ann');
  });
  after(() => server.close());

  it('refuses a caller without a good token with 401 before charging the limit, and verifies a good token once', async () => {
    // The address may send once: refused callers must not spend it.
    assert.equal(await post('/send'), 401);
    assert.equal(await post('/send', 'not-a-token'), 401);
    counts.verified = 0;
    assert.equal(await post('/send', token), 201);
    assert.equal(counts.verified, 1);
    assert.equal(await post('/send', token), 429);
  });

  it('reads a body only after authenticating the caller, and as JSON only on a route that takes JSON', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
    const send = (path: string, body: BodyInit, auth?: string) =>
      fetch(url(path), { method: 'POST', body, headers: auth ? { authorization: `Bearer ${auth}` } : {} }).then(async (res) => [res.status, await res.json()]);
    assert.deepEqual((await send('/json', png))[0], 401, 'no token: refused before the body is read');
    assert.deepEqual((await send('/json', png, token))[1].code, 'invalid_json');
    assert.deepEqual((await send('/json', JSON.stringify({ n: 1 }), token))[1], { n: 1 });
    assert.deepEqual((await send('/json', JSON.stringify({ n: 'x'.repeat(2000) }), token))[0], 413);
    assert.deepEqual(await send('/raw', Buffer.alloc(5000), token), [200, { bytes: 5000 }], 'the JSON limit is not the streamed route\'s');
  });

  it('waits for the read models to include the returned position only on a route that reads its own writes', async () => {
    assert.equal(await post('/quiet', token), 200);
    assert.deepEqual(waited, []);
    assert.equal(await post('/write', token), 200);
    assert.deepEqual(waited, [APPENDED_AT]);
  });
});
