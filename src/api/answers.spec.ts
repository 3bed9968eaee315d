import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { openSqlite } from '../db/sqlite.js';
import { notFound } from '../domain/errors.js';
import { json, noBody, refusalsOf } from './answers.js';
import { TokenService } from './auth.js';
import { describeError } from './errors.js';
import { RateLimits } from './limits.js';
import { SqliteRevocationStore } from './revocations.js';
import { mount, route, type RouteResult } from './route.js';

const greeting = z.strictObject({ hello: z.string() });

/** Public routes that declare a greeting and answer what they are told to. */
const declaredRoutes = (answers: Record<string, () => RouteResult>) =>
  Object.entries(answers).map(([name, answer]) =>
    route({
      method: 'get',
      path: `/${name}`,
      summary: name,
      auth: false,
      status: 200,
      responses: { 200: json('a greeting', greeting), 204: noBody('nothing to say') },
      refusals: name === 'missing' ? [404] : [],
      handler: async () => answer(),
    }),
  );

const ANSWERS: Record<string, () => RouteResult> = {
  fine: () => ({ body: { hello: 'ann' } }),
  quiet: () => ({ status: 204 }),
  missing: () => {
    throw notFound('greeting');
  },
  offSchema: () => ({ body: { hello: 42 } }),
  extraField: () => ({ body: { hello: 'ann', secret: 'x' } }),
  undeclaredStatus: () => ({ status: 201, body: { hello: 'ann' } }),
  bodyWhereNone: () => ({ status: 204, body: { hello: 'ann' } }),
  undeclaredRefusal: () => {
    throw notFound('greeting');
  },
};

function serve(checkAnswers: boolean) {
  const app = express();
  const router = express.Router();
  const tokens = new TokenService(new TextEncoder().encode('k'.repeat(32)), 3600, new SqliteRevocationStore(openSqlite(':memory:')));
  const limits = new RateLimits({ sendsPerUser: 5, sendsPerIp: 5, sendWindowSeconds: 60, loginsPerUser: 5, loginsPerIp: 5, loginWindowSeconds: 60 });
  mount(router, declaredRoutes(ANSWERS), { tokens, adminToken: undefined, limits, waitForProjections: async () => {}, bodyLimitBytes: 1024, checkAnswers });
  app.use(router);
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status, ...body } = describeError(error);
    res.status(status).json({ error: body });
  });
  const server = app.listen(0);
  const get = async (name: string) => {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/${name}`);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return { server, get };
}

describe('answers held to their declaration', () => {
  const checked = serve(true);
  const unchecked = serve(false);
  after(() => {
    checked.server.close();
    unchecked.server.close();
  });

  it('passes answers and refusals the route declares', async () => {
    assert.deepEqual(await checked.get('fine'), { status: 200, body: { hello: 'ann' } });
    assert.deepEqual(await checked.get('quiet'), { status: 204, body: undefined });
    assert.equal((await checked.get('missing')).status, 404);
  });

  it('turns an answer that differs from its declaration into a 500 naming the difference', async () => {
    const drift = async (name: string, expected: RegExp) => {
      const { status, body } = await checked.get(name);
      assert.equal(status, 500, name);
      assert.equal(body.error.code, 'misconfigured');
      assert.match(body.error.message, expected);
    };
    await drift('offSchema', /^GET \/offSchema answered 200 off its schema: .*hello/s);
    await drift('extraField', /secret/);
    await drift('undeclaredStatus', /answered 201, which it does not declare/);
    await drift('bodyWhereNone', /answered 204 with a JSON body it does not declare/);
    await drift('undeclaredRefusal', /refused with 404, which it does not list/);
  });

  it('leaves answers as the handlers give them when not checking (production)', async () => {
    assert.deepEqual(await unchecked.get('offSchema'), { status: 200, body: { hello: 42 } });
    assert.equal((await unchecked.get('undeclaredRefusal')).status, 404);
  });
});

describe('refusals of a route', () => {
  const bare = { method: 'get', path: '/x', summary: 'x', status: 200, responses: {}, handler: async () => ({}) } as const;

  it('are those its declaration implies, and those its handler gives', () => {
    assert.deepEqual(refusalsOf(route({ ...bare, auth: false })), [503]);
    assert.deepEqual(refusalsOf(route({ ...bare, query: z.object({ q: z.string() }) })), [400, 401, 503]);
    assert.deepEqual(refusalsOf(route({ ...bare, auth: 'admin' })), [401, 403, 503]);
    assert.deepEqual(refusalsOf(route({ ...bare, method: 'post', body: z.object({}), rateLimit: 'send', refusals: [404, 409] })), [400, 401, 404, 409, 413, 415, 429, 503]);
    assert.deepEqual(refusalsOf(route({ ...bare, method: 'post', streamBody: true })), [401, 413, 415, 503]);
  });
});
