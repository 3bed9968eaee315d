import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express, { type NextFunction, type Request, type Response } from 'express';
import { openSqlite } from '../db/sqlite.js';
import { TokenService } from './auth.js';
import { describeError } from './errors.js';
import { RateLimits } from './limits.js';
import { SqliteRevocationStore } from './revocations.js';
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
  app.use(express.json());
  const router = express.Router();
  const routes = [
    route({ method: 'post', path: '/send', summary: 'a send', status: 201, rateLimit: 'send', handler: async () => ({}) }),
    route({ method: 'post', path: '/write', summary: 'reads its writes', status: 200, readYourWrites: true, handler: async () => ({ position: APPENDED_AT }) }),
    route({ method: 'post', path: '/quiet', summary: 'no waiting', status: 200, handler: async () => ({ position: APPENDED_AT }) }),
  ];
  mount(router, routes, { tokens, adminToken: undefined, limits, waitForProjections: async (position) => waited.push(position) });
  app.use(router);
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(describeError(error).status).end();
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

  it('waits for the read models to include the returned position only on a route that reads its own writes', async () => {
    assert.equal(await post('/quiet', token), 200);
    assert.deepEqual(waited, []);
    assert.equal(await post('/write', token), 200);
    assert.deepEqual(waited, [APPENDED_AT]);
  });
});
