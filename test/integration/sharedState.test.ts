import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApiClient } from '../support/client.js';
import { closedPort } from '../support/ports.js';
import { startTestServer, type TestServer } from '../support/server.js';

const redisUrl = process.env.REDIS_URL;

/**
 * Two instances on one Redis. Each test server has an event store of its own, so the second one
 * does not hold the users and conversations of the first; that does not matter here: a token
 * signed with the shared AUTH_SECRET verifies on both, and a send is charged against its limit
 * before its conversation is looked up.
 */
describe('state shared between instances through Redis', { skip: redisUrl ? false : 'needs REDIS_URL: npm run test:infra starts Redis' }, () => {
  let one: TestServer;
  let two: TestServer;
  before(async () => {
    const shared = {
      REDIS_URL: redisUrl!,
      REDIS_KEY_PREFIX: `shared-${randomUUID().slice(0, 8)}:`,
      AUTH_SECRET: randomBytes(32).toString('hex'),
      SEND_RATE_PER_USER: '4',
      SEND_RATE_WINDOW_SECONDS: '600',
    };
    [one, two] = [await startTestServer(shared), await startTestServer(shared)];
  });
  after(async () => {
    await one?.stop();
    await two?.stop();
  });

  it('refuses on one instance a token logged out on the other', async () => {
    const [api1, api2] = [new ApiClient(one.url), new ApiClient(two.url)];
    const a = await api1.user('out');
    assert.equal((await api2.request('GET', '/v1/conversations', { token: a.token })).status, 200);
    assert.equal((await api1.request('DELETE', '/v1/sessions/current', { token: a.token })).status, 204);
    const refused = await api2.request('GET', '/v1/conversations', { token: a.token });
    assert.equal(refused.status, 401);
    assert.match(refused.body.error.message, /revoked/);
  });

  it('counts a user\'s sends on both instances against one limit', async () => {
    const [api1, api2] = [new ApiClient(one.url), new ApiClient(two.url)];
    const [a, b] = [await api1.user('sa'), await api1.user('sb')];
    const conv = await api1.direct(a, b);
    for (let i = 0; i < 2; i++) {
      assert.equal((await api1.send(a, conv, `one ${i}`)).status, 201);
      assert.notEqual((await api2.send(a, conv, `two ${i}`)).status, 429, 'the second instance counts from zero');
    }
    assert.equal((await api1.send(a, conv, 'fifth')).status, 429);
    assert.equal((await api2.send(a, conv, 'fifth again')).status, 429);
  });
});

describe('an instance while Redis is away', () => {
  let server: TestServer;
  let api: ApiClient;
  before(async () => {
    server = await startTestServer({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, SEND_RATE_PER_USER: '3', SEND_RATE_WINDOW_SECONDS: '600' });
    api = new ApiClient(server.url);
  });
  after(async () => server.stop());

  it('keeps sending, limited by its own counters, and says Redis is away on /readyz', async () => {
    const [a, b] = [await api.user('a'), await api.user('b')];
    const conv = await api.direct(a, b);
    for (let i = 0; i < 3; i++) assert.equal((await api.send(a, conv, `m${i}`)).status, 201);
    assert.equal((await api.send(a, conv, 'one too many')).status, 429);
    const readiness = await api.request('GET', '/readyz');
    assert.equal(readiness.status, 200, 'still serving: a load balancer keeps the instance');
    assert.equal(readiness.body.status, 'degraded');
    assert.match(readiness.body.degraded[0], /^Redis unreachable/);
  });

  it('refuses a logout with 503 rather than pretending, and still accepts the token', async () => {
    const a = await api.user('l');
    const logout = await api.request('DELETE', '/v1/sessions/current', { token: a.token });
    assert.equal(logout.status, 503);
    assert.equal(logout.body.error.code, 'unavailable');
    assert.equal((await api.request('GET', '/v1/conversations', { token: a.token })).status, 200);
  });
});
