import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { ApiClient } from '../support/client.js';
import { runCli, spawnCli, type CliRun } from '../support/cli.js';
import { freshRebuild } from '../support/readModels.js';
import { profileEnv, startTestServer, type TestServer } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { workload } from '../support/workload.js';

const PULL_THRESHOLD = 3;
const onMongo = process.env.TEST_PROFILE === 'distributed' ? false : 'needs READ_STORE=mongo; runs in npm run test:infra';

/** Resolves once the CLI has printed `pattern` on stderr; fails if it exits first. */
async function shown(run: CliRun, pattern: RegExp): Promise<void> {
  while (!pattern.test(run.stderr)) {
    assert.equal(run.child.exitCode, null, `exited before printing ${pattern}: ${run.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('im rebuild next to a running server on MongoDB', { skip: onMongo }, () => {
  let server: TestServer;
  let api: ApiClient;
  let actors: Awaited<ReturnType<typeof workload>>;
  let env: Record<string, string>;
  let mongo: MongoClient;
  const tmp = tempDir();
  const dumpLive = () => server.readStore.dump();
  const settle = async () => assert.ok(await server.projections.waitFor(await server.store.headPosition(), 60_000));
  const leftoverCollections = async () =>
    (await mongo.db().listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => n.endsWith('__shadow')).sort();

  before(async () => {
    const profile: Record<string, string> = { ...profileEnv(), REPLICATION: 'off', INBOX_PULL_THRESHOLD: String(PULL_THRESHOLD), SEND_RATE_PER_USER: '100000', SEND_RATE_PER_IP: '100000' };
    server = await startTestServer(profile);
    api = new ApiClient(server.url);
    actors = await workload(api);
    await settle();
    env = { ...profile, DATA_DIR: server.dataDir };
    mongo = await MongoClient.connect(profile.MONGO_URL!);
  });
  after(async () => {
    await mongo.db().dropDatabase();
    await mongo.close();
    await server.stop();
    tmp.remove();
  });

  it('swaps in rebuilt collections while requests keep succeeding, and ends identical to a fresh full rebuild', async () => {
    const { ann, ben, dan } = actors.users;
    const { dm, big } = actors.conversations;
    // A stray document, as a projection bug might leave: the rebuilt collection has none.
    await mongo.db().collection('messages').insertOne({ _id: 'stray' as never, conversationId: dm, seq: 1_000_000, _pos: 1 });
    const rebuild = spawnCli(['rebuild', 'all', '--batch-size', '50'], env);
    const failures: string[] = [];
    let running = true;
    void rebuild.exited.then(() => (running = false));
    for (let i = 0; running; i++) {
      const replies = await Promise.all([
        api.send(i % 2 ? ann : ben, i % 3 ? dm : big, `live ${i}`),
        api.request('GET', '/v1/conversations', { token: ben.token }),
        api.request('GET', '/v1/sync?limit=100', { token: dan.token }),
      ]);
      for (const r of replies) if (r.status >= 300) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
    }
    assert.equal(await rebuild.exited, 0, rebuild.stderr);
    assert.match(rebuild.stdout, /rebuilt conversations, userConversations, messages, inbox, users: \d+ events .* swapped in at position \d+/);
    assert.deepEqual(failures, []);
    // The server projects again after the swap, continuing the rebuilt collections.
    for (let i = 0; i < 5; i++) await api.send(i % 2 ? ann : ben, dm, `after swap ${i}`);
    await settle();
    const live = await dumpLive();
    assert.ok(!(live.messages as { seq: number }[]).some((m) => m.seq === 1_000_000), 'the stray document is gone');
    assert.deepEqual(live, await freshRebuild(server.store, tmp.dir, PULL_THRESHOLD));
    assert.deepEqual(await leftoverCollections(), []);
  });

  it('leaves the live projections untouched when interrupted with Ctrl-C', async () => {
    await settle();
    const before = await dumpLive();
    const checkpoints = await server.readStore.checkpoints();
    const rebuild = spawnCli(['rebuild', 'all', '--max-rate', '20', '--batch-size', '10'], env);
    await shown(rebuild, /[1-9]\d* events\/s/);
    rebuild.child.kill('SIGINT');
    assert.equal(await rebuild.exited, 130);
    assert.match(rebuild.stderr, /im: rebuild interrupted: the shadow copies were dropped and the live projections are untouched/);
    assert.deepEqual(await dumpLive(), before);
    assert.deepEqual(await server.readStore.checkpoints(), checkpoints);
    assert.deepEqual(await leftoverCollections(), []);
  });

  it('refuses a second rebuild while one runs, and after one killed outright the next drops its leftovers', async () => {
    // Throttled to a few events a second, it is still catching up when it is killed below, however
    // slowly this machine runs the steps in between; it has made its shadow collections by then.
    const killed = spawnCli(['rebuild', 'all', '--max-rate', '2', '--batch-size', '2'], env);
    await shown(killed, /[1-9]\d* events\/s/);
    const second = await runCli(['rebuild', 'inbox'], env);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /^im: another rebuild \(.+, lease until .+\) is running\n$/);
    const before = await dumpLive();
    assert.equal(killed.child.exitCode, null, 'the throttled rebuild is still running when it is killed');
    killed.child.kill('SIGKILL');
    await killed.exited;
    assert.notDeepEqual(await leftoverCollections(), [], 'a killed rebuild leaves its shadow collections');
    assert.deepEqual(await dumpLive(), before, 'and the live ones intact');
    // The killed rebuild's lease expires within its TTL; until then a rebuild is refused.
    let again = await runCli(['rebuild', 'users'], env);
    while (again.code === 1 && /another rebuild/.test(again.stderr)) again = await runCli(['rebuild', 'users'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await leftoverCollections(), []);
    await settle();
    assert.deepEqual(await dumpLive(), await freshRebuild(server.store, tmp.dir, PULL_THRESHOLD));
  });
});
