import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXPORTS_PER_HOUR } from '../../src/api/limits.js';
import { exportUser } from '../../src/privacy/export.js';
import { suiteServer } from '../support/suite.js';

describe('self-service export', () => {
  const t = suiteServer();

  it('gives me everything stored about me, the same document as im export-user, without the password hash', async () => {
    const alice = await t.api.user('alice');
    const bob = await t.api.user('bob');
    const c = await t.api.direct(alice, bob);
    await t.api.send(alice, c, 'my words');
    await t.api.send(bob, c, 'bob words');
    await t.api.request('POST', '/v1/devices', { token: alice.token, body: { token: 'alice-phone', platform: 'ios' } });

    const res = await t.api.request('GET', '/v1/me/export', { token: alice.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.match(res.headers.get('content-disposition') ?? '', /attachment/);
    const { exportedAt: _at, ...served } = res.body;
    const { exportedAt: _cliAt, ...shared } = (await exportUser(t.server, alice.userId))!;
    assert.deepEqual(served, JSON.parse(JSON.stringify(shared)));

    assert.equal(served.account.username, alice.username);
    assert.equal(served.account.passwordHash, '[redacted]');
    assert.deepEqual(served.account.devices, [{ token: 'alice-phone', platform: 'ios' }]);
    const texts = served.conversations[0].events.filter((e: any) => e.type === 'MessageSent').map((e: any) => e.data.text);
    assert.deepEqual(texts, ['my words'], 'every message I sent, none of the others');
  });

  it(`is limited to ${EXPORTS_PER_HOUR} an hour per user`, async () => {
    const carol = await t.api.user('carol');
    for (let i = 0; i < EXPORTS_PER_HOUR; i++) assert.equal((await t.api.request('GET', '/v1/me/export', { token: carol.token })).status, 200);
    const refused = await t.api.request('GET', '/v1/me/export', { token: carol.token });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    const dave = await t.api.user('dave');
    assert.equal((await t.api.request('GET', '/v1/me/export', { token: dave.token })).status, 200, 'another user is not held back');
  });
});
