import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { eventMetadata } from '../../src/commands/commandHandler.js';
import { usernameStream, userStream } from '../../src/domain/streams.js';
import { ApiClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ROUNDS = 20;
const CONCURRENT = 8;
const RESERVATION_TIMEOUT_MS = 5000;
const PASSWORD = 'correct horse';

describe('one account per username', () => {
  let server: TestServer;
  let api: ApiClient;

  before(async () => {
    server = await startTestServer({ USERNAME_RESERVATION_TIMEOUT_MS: String(RESERVATION_TIMEOUT_MS) });
    api = new ApiClient(server.url);
  });
  after(() => server.stop());

  const register = (username: string) => api.request('POST', '/v1/users', { body: { username, password: PASSWORD } });
  const login = (username: string) => api.request('POST', '/v1/sessions', { body: { username, password: PASSWORD } });

  /** What a process that crashed between its two appends leaves: a reservation, made `ageMs` ago, for a user never registered. */
  async function abandonedReservation(username: string, ageMs: number): Promise<void> {
    const stream = server.usernameStream(username);
    const last = (await server.store.readStream(stream)).at(-1);
    const metadata = { ...eventMetadata('dc1', { correlationId: randomUUID() }), at: new Date(Date.now() - ageMs).toISOString() };
    await server.store.append(stream, [{ type: 'UsernameReserved', data: { username, userId: randomUUID() }, metadata }], last?.revision ?? 'no_stream');
  }

  it('gives a name to exactly one of many concurrent registrations, round after round', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const username = `race_${round}_${randomUUID().slice(0, 8)}`;
      const replies = await Promise.all(Array.from({ length: CONCURRENT }, () => register(username)));

      const statuses = replies.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, ...Array<number>(CONCURRENT - 1).fill(409)], `round ${round}`);
      const winner = replies.find((r) => r.status === 201)!.body.userId;
      assert.equal((await login(username)).body.userId, winner, `round ${round}`);
    }
  });

  it('keeps a name whose registration may still be running, and frees it once the reservation timed out', async () => {
    const recent = `recent_${randomUUID().slice(0, 8)}`;
    await abandonedReservation(recent, 0);
    assert.equal((await register(recent)).status, 409);

    // Older than this server's timeout, though not than the default one: the setting is what counts.
    const timedOut = `timed_out_${randomUUID().slice(0, 8)}`;
    await abandonedReservation(timedOut, 2 * RESERVATION_TIMEOUT_MS);
    const taken = await register(timedOut);
    assert.equal(taken.status, 201);
    assert.equal((await login(timedOut)).body.userId, taken.body.userId);
    assert.equal((await register(timedOut)).status, 409);
  });

  it('keeps a username reserved before reservation streams were named by hash: its user logs in, and nobody else takes it', async () => {
    const username = `Legacy_${randomUUID().slice(0, 8)}`;
    const userId = randomUUID();
    const metadata = () => eventMetadata('dc1', { correlationId: randomUUID() });
    const hash = (await server.store.readStream(userStream((await register(`x${username}`)).body.userId)))[0]!.data as { passwordHash: string };
    await server.store.append(usernameStream(username.toLowerCase()), [{ type: 'UsernameReserved', data: { username, userId }, metadata: metadata() }], 'no_stream');
    const registered = { userId, username, displayName: username, passwordHash: hash.passwordHash };
    await server.store.append(userStream(userId), [{ type: 'UserRegistered', data: registered, metadata: metadata() }], 'no_stream');

    assert.equal((await login(username)).body.userId, userId);
    assert.equal((await register(username.toUpperCase())).status, 409);
  });

  it('finds the registered holder of a name past a reservation abandoned after it', async () => {
    const username = `held_${randomUUID().slice(0, 8)}`;
    const holder = await register(username);
    assert.equal(holder.status, 201);

    await abandonedReservation(username, 0);

    const session = await login(username);
    assert.equal(session.status, 201);
    assert.equal(session.body.userId, holder.body.userId);
    const found = await api.request('GET', `/v1/users?username=${username}`, { token: session.body.token });
    assert.equal(found.body.userId, holder.body.userId);
  });
});
