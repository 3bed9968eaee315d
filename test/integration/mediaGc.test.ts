import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli.js';
import { ApiClient } from '../support/client.js';
import { download, mediaFiles, png, upload } from '../support/media.js';
import { embeddedOnly, startTestServer, type TestServer } from '../support/server.js';

const TWO_DAYS_AGO = new Date(Date.now() - 48 * 3600 * 1000);

describe('im media gc', { skip: embeddedOnly }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('lists, then with --delete removes, the files no message carries once their last upload is past the grace period', async () => {
    const api = new ApiClient(server.url);
    const [alice, bob] = [await api.user('alice'), await api.user('bob')];
    const c = await api.direct(alice, bob);
    const hashOf = async () => (await upload(server.url, alice.token, await png())).body.hash as string;
    const [sent, recalled, neverSent] = [await hashOf(), await hashOf(), await hashOf()];
    const send = (hash: string) => api.request('POST', `/v1/conversations/${c}/messages`, { token: alice.token, body: { clientMsgId: hash, media: { hash } } });
    await send(sent);
    const { seq } = (await send(recalled)).body;
    await api.request('DELETE', `/v1/conversations/${c}/messages/${seq}`, { token: alice.token });
    const fresh = await hashOf();
    // The first three were uploaded two days ago; the last one just now.
    for (const file of await mediaFiles(server.dataDir)) if (!file.includes(fresh)) await utimes(file, TWO_DAYS_AGO, TWO_DAYS_AGO);

    const env = { DATA_DIR: server.dataDir };
    const dry = await runCli(['media', 'gc', '--json'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(JSON.parse(dry.stdout).hashes.sort(), [recalled, neverSent].sort());
    assert.equal((await download(server.url, alice.token, neverSent)).status, 200, 'a dry run removes nothing');

    const removal = await runCli(['media', 'gc', '--delete'], env);
    assert.equal(removal.code, 0, removal.stderr);
    assert.match(removal.stdout, /^2 files, \d+ bytes removed$/m);
    for (const gone of [recalled, neverSent]) assert.equal((await download(server.url, alice.token, gone)).status, 404);
    for (const kept of [sent, fresh]) assert.equal((await download(server.url, alice.token, kept)).status, 200);
    assert.ok(!(await mediaFiles(server.dataDir)).some((f) => f.includes(recalled) || f.includes(neverSent)), 'nothing of them is left');
    assert.deepEqual(JSON.parse((await runCli(['media', 'gc', '--json'], env)).stdout).files, 0);
  });
});
