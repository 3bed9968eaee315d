import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { exportUser } from '../../src/privacy/export.js';
import { runCli } from '../support/cli.js';
import { freshRebuild } from '../support/readModels.js';
import { embeddedOnly } from '../support/server.js';
import { suiteServer, type SuiteServer } from '../support/suite.js';

/**
 * Erasing an account, checked from the outside: afterwards nothing another user or an operator can
 * read (REST answers, WebSocket frames, the export of others, the CLI) holds the account's words,
 * names or username, while everyone else's stay readable.
 */

const PASSWORD = 'correct horse';

/** Everything bob can read of what he shares with alice, as one string to search. */
async function everythingBobReads(t: SuiteServer, bob: { token: string }, aliceId: string, aliceUsername: string, conversations: string[]) {
  const get = async (path: string) => JSON.stringify((await t.api.request('GET', path, { token: bob.token })).body);
  const reads = [await get('/v1/conversations'), await get('/v1/sync?afterUserSeq=0&limit=1000'), await get('/v1/me/export')];
  reads.push(await get(`/v1/users/${aliceId}`), await get(`/v1/users?username=${aliceUsername}`), await get(`/v1/users/${aliceId}/presence`));
  for (const c of conversations) {
    reads.push(await get(`/v1/conversations/${c}`), await get(`/v1/conversations/${c}/members`));
    reads.push(await get(`/v1/conversations/${c}/messages?limit=100`), await get(`/v1/conversations/${c}/events?afterSeq=0&limit=1000`));
    for (let seq = 0; seq < 12; seq++) reads.push(await get(`/v1/conversations/${c}/messages/${seq}`));
  }
  const socket = await t.connect(bob.token);
  socket.send({ type: 'sync', ref: 'all', afterUserSeq: 0 });
  await socket.next((f) => f.type === 'synced' && f.ref === 'all');
  socket.send({ type: 'sync', ref: 'convs', conversations: Object.fromEntries(conversations.map((c) => [c, 0])) });
  await socket.next((f) => f.type === 'synced' && f.ref === 'convs');
  reads.push(JSON.stringify(socket.frames));
  return reads.join('\n');
}

describe('erasing an account', () => {
  const t = suiteServer({ ERASED_USERNAME_GRACE_DAYS: '0' });

  async function aliceAndFriends() {
    const marker = randomUUID().slice(0, 8);
    const alice = await t.api.user(`alice${marker}`);
    const bob = await t.api.user('bob');
    const carol = await t.api.user('carol');
    const secrets = [`alicetext${marker}`, `aliceedit${marker}`, `aliceplace${marker}`, `alicename${marker}`, `alice${marker}`];
    await t.api.request('PATCH', '/v1/me', { token: alice.token, body: { displayName: secrets[3] } });
    const direct = await t.api.direct(alice, bob);
    const group = await t.api.group(bob, [alice, carol], 'the group');
    const first = await t.api.send(alice, direct, secrets[0]!);
    await t.api.request('PATCH', `/v1/conversations/${direct}/messages/${first.body.seq}`, { token: alice.token, body: { text: secrets[1] } });
    await t.api.request('POST', `/v1/conversations/${group}/messages`, {
      token: alice.token,
      body: { clientMsgId: randomUUID(), location: { lat: 52.5, lng: 13.4, name: secrets[2] } },
    });
    await t.api.send(alice, group, `${secrets[0]} in the group`);
    await t.api.send(bob, group, `bobtext${marker}`);
    return { alice, bob, carol, direct, group, secrets, bobText: `bobtext${marker}` };
  }

  it('refuses without the right password, and changes nothing', async () => {
    const { alice, bob, direct, secrets } = await aliceAndFriends();
    const wrong = await t.api.request('DELETE', '/v1/me', { token: alice.token, body: { password: 'not it' } });
    assert.equal(wrong.status, 403, JSON.stringify(wrong.body));
    const missing = await t.api.request('DELETE', '/v1/me', { token: alice.token, body: {} });
    assert.equal(missing.status, 400);
    const history = await t.api.request('GET', `/v1/conversations/${direct}/messages`, { token: bob.token });
    assert.ok(JSON.stringify(history.body).includes(secrets[1]!), 'the edited text is still there');
  });

  it('leaves nothing of the account that another user can read, while their own messages stay', async () => {
    const { alice, bob, direct, group, secrets, bobText } = await aliceAndFriends();
    const before = await everythingBobReads(t, bob, alice.userId, alice.username, [direct, group]);
    for (const secret of [...secrets, bobText]) assert.ok(before.includes(secret), `before the erase bob reads ${secret}`);

    const erased = await t.api.request('DELETE', '/v1/me', { token: alice.token, body: { password: PASSWORD } });
    assert.equal(erased.status, 200, JSON.stringify(erased.body));
    assert.equal(erased.body.erased, true);

    const after = await everythingBobReads(t, bob, alice.userId, alice.username, [direct, group]);
    for (const secret of secrets) assert.equal(after.includes(secret), false, `after the erase nothing bob reads holds ${secret}`);
    assert.ok(after.includes(bobText), "bob's own message is still there");

    const history = await t.api.request('GET', `/v1/conversations/${group}/messages`, { token: bob.token });
    const hers = history.body.items.filter((m: { senderId: string }) => m.senderId === alice.userId);
    assert.equal(hers.length, 2);
    for (const m of hers) assert.deepEqual([m.erased, m.text, m.media], [true, null, null]);
    const profile = await t.api.request('GET', `/v1/users/${alice.userId}`, { token: bob.token });
    assert.deepEqual([profile.body.erased, profile.body.username, profile.body.displayName], [true, '', '']);
    const presence = await t.api.request('GET', `/v1/users/${alice.userId}/presence`, { token: bob.token });
    assert.deepEqual([presence.body.online, presence.body.lastSeenAt], [false, null], 'nor when she was last active');
  });

  it('ends every session of the account: its open sockets, its tokens, its password and its username', async () => {
    const { alice, secrets } = await aliceAndFriends();
    const open = await t.connect(alice.token);
    await t.api.request('DELETE', '/v1/me', { token: alice.token, body: { password: PASSWORD } });
    await open.until(() => open.closeCode !== null, 'her open socket to close');
    assert.equal(open.closeCode, 1008);
    assert.equal((await t.api.request('GET', '/v1/conversations', { token: alice.token })).status, 401);
    await assert.rejects(t.connect(alice.token), /upgrade refused: 401/);
    const login = await t.api.request('POST', '/v1/sessions', { body: { username: alice.username, password: PASSWORD } });
    assert.equal(login.status, 401);
    // This server's grace period is 0 days: the username is free at once.
    const again = await t.api.request('POST', '/v1/users', { body: { username: alice.username, password: PASSWORD } });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.notEqual(again.body.userId, alice.userId);
    assert.ok(secrets.length);
  });

  it('gives projections rebuilt from position 0 the same read models as the live ones', async () => {
    const { alice } = await aliceAndFriends();
    await t.api.request('DELETE', '/v1/me', { token: alice.token, body: { password: PASSWORD } });
    const fence = await aliceAndFriends();
    await t.api.send(fence.bob, fence.group, 'fence');
    await t.server.projections.waitFor(await t.server.store.headPosition());
    const live = await t.server.readStore.dump();
    assert.deepEqual(await freshRebuild(t.server.store, t.server.dataDir, 500), live);
  });

  it('shows an operator nothing of the account either: im events, export-user, status and analytics', { skip: embeddedOnly }, async () => {
    const { alice, bob, direct, group, secrets } = await aliceAndFriends();
    const env = { DATA_DIR: t.server.dataDir };
    const timelines = async () => (await runCli(['events', direct, '--json'], env)).stdout + (await runCli(['events', group, '--json'], env)).stdout;
    const cliBefore = await timelines();
    for (const secret of secrets.slice(0, 3)) assert.ok(cliBefore.includes(secret), `before the erase the CLI shows ${secret}`);

    const refused = await runCli(['erase-user', alice.userId], env);
    assert.equal(refused.code, 2, refused.stderr);
    const erased = await runCli(['erase-user', alice.userId, '--yes'], env);
    assert.equal(erased.code, 0, erased.stderr);
    await t.server.projections.waitFor(await t.server.store.headPosition());

    const outputs = [
      await timelines(),
      (await runCli(['export-user', alice.userId], env)).stdout,
      (await runCli(['export-user', bob.userId], env)).stdout,
      (await runCli(['status'], env)).stdout,
      (await runCli(['analytics'], env)).stdout,
      JSON.stringify(await exportUser(t.server, bob.userId)),
    ].join('\n');
    for (const secret of secrets) assert.equal(outputs.includes(secret), false, `no operator output holds ${secret}`);
    const login = await t.api.request('POST', '/v1/sessions', { body: { username: alice.username, password: PASSWORD } });
    assert.equal(login.status, 401);
  });
});

describe('an erased account keeps its username for the grace period', () => {
  const t = suiteServer();

  it('refuses the name to others until then', async () => {
    const alice = await t.api.user('alice');
    assert.equal((await t.api.request('DELETE', '/v1/me', { token: alice.token, body: { password: PASSWORD } })).status, 200);
    const taken = await t.api.request('POST', '/v1/users', { body: { username: alice.username, password: PASSWORD } });
    assert.equal(taken.status, 409);
  });
});
