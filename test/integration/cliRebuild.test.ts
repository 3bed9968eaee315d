import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqlite } from '../../src/db/sqlite.js';
import { ApiClient } from '../support/client.js';
import { runCli, spawnCli, type CliRun } from '../support/cli.js';
import { freshRebuild, leftoverTables } from '../support/readModels.js';
import { startTestServer, type TestServer, embeddedOnly } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { workload } from '../support/workload.js';

const PULL_THRESHOLD = 3;
type Actors = Awaited<ReturnType<typeof workload>>;

describe('im rebuild next to a running server', { skip: embeddedOnly }, () => {
  let server: TestServer;
  let api: ApiClient;
  let actors: Actors;
  let env: Record<string, string>;
  const tmp = tempDir();

  /** Sends messages while `more(sent)` holds, `parallel` at a time, round-robin over the workload's conversations. */
  async function sendWhile(more: (sent: number) => boolean, parallel = 16): Promise<number[]> {
    const { ann, ben } = actors.users;
    const { dm, big } = actors.conversations;
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (more(next)) {
          const i = next++;
          const res = await api.send(i % 2 ? ann : ben, i % 3 ? dm : big, `bulk ${i}`);
          statuses.push(res.status);
        }
      }),
    );
    return statuses;
  }
  const sendMany = (count: number) => sendWhile((sent) => sent < count);

  /** Resolves once the CLI has printed `pattern` on stderr; fails if it exits first. */
  async function shown(run: CliRun, pattern: RegExp): Promise<void> {
    while (!pattern.test(run.stderr)) {
      assert.equal(run.child.exitCode, null, `exited before printing ${pattern}: ${run.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const dumpLive = () => server.readStore.dump();
  const settle = async () => assert.ok(await server.projections.waitFor(await server.store.headPosition()));

  before(async () => {
    // Writers keep sending throughout the rebuild; the send limits are not what this test is about.
    server = await startTestServer({ INBOX_PULL_THRESHOLD: String(PULL_THRESHOLD), SEND_RATE_PER_USER: '100000', SEND_RATE_PER_IP: '100000' });
    api = new ApiClient(server.url);
    actors = await workload(api);
    await sendMany(100);
    await settle();
    env = { DATA_DIR: server.dataDir, INBOX_PULL_THRESHOLD: String(PULL_THRESHOLD) };
  });
  after(async () => {
    await server.stop();
    tmp.remove();
  });

  it('swaps in a rebuilt copy while requests keep succeeding, and ends identical to a fresh full rebuild', async () => {
    const { ann, ben, dan } = actors.users;
    const { dm, big } = actors.conversations;
    // A stray entry in ben's inbox, as a projection bug might leave: the server's cached userSeq for
    // ben counts it, and must forget it once the rebuilt inbox (without it) is swapped in, or ben's
    // next entries would leave a gap.
    const db = openSqlite(join(server.dataDir, 'chat.db'));
    db.prepare(
      `INSERT INTO rm_inbox (user_id, user_seq, pos, doc) SELECT user_id, MAX(user_seq) + 1, -1, '{}' FROM rm_inbox WHERE user_id = ?`,
    ).run(ben.userId);
    db.close();
    await api.send(ann, dm, 'after the stray entry');
    await settle();

    // Writers far faster than the throttle: the rebuild must still end, applying what they write
    // after its throttled catch-up to the head it started at. They start once it has started, so
    // the throttled stretch is the same backlog on every machine.
    const rebuild = spawnCli(['rebuild', 'all', '--max-rate', '25', '--batch-size', '250'], env);
    await shown(rebuild, /rebuild all \[/);
    const failures: string[] = [];
    let requestsDuringRebuild = 0;
    let running = true;
    void rebuild.exited.then(() => (running = false));
    const writers = sendWhile(() => running, 16);
    for (let i = 0; running; i++) {
      const replies = await Promise.all([
        api.send(i % 2 ? ann : ben, i % 3 ? dm : big, `live ${i}`),
        api.request('GET', '/v1/conversations', { token: ben.token }),
        api.request('GET', `/v1/conversations/${dm}/messages?limit=50`, { token: ann.token }),
        api.request('GET', '/v1/sync?limit=100', { token: dan.token }),
        api.request('POST', `/v1/conversations/${big}/read`, { token: dan.token, body: { upToSeq: i + 1 } }),
      ]);
      for (const r of replies) if (r.status >= 300 && r.status !== 404) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
      if (running) requestsDuringRebuild += replies.length;
    }
    assert.equal(await rebuild.exited, 0, rebuild.stderr);
    for (const status of await writers) if (status !== 201) failures.push(`send: ${status}`);
    assert.match(rebuild.stdout, /rebuilt conversations, userConversations, messages, inbox, users: \d+ events .* swapped in at position \d+/);
    assert.ok(requestsDuringRebuild >= 50, `only ${requestsDuringRebuild} requests overlapped the rebuild`);
    assert.deepEqual(failures, []);

    // Writes after the swap land in the new tables, with userSeqs continuing the rebuilt inbox.
    for (let i = 0; i < 5; i++) await api.send(i % 2 ? ann : ben, dm, `after swap ${i}`);
    await settle();
    const live = await dumpLive();
    assert.ok(!live.inbox!.some((e: any) => e._pos === -1), 'the stray entry is gone');
    assert.deepEqual(live, await freshRebuild(server.store, tmp.dir, PULL_THRESHOLD));
    assert.deepEqual(leftoverTables(server.dataDir), []);
  });

  it('leaves the live projections untouched when interrupted with Ctrl-C', async () => {
    await settle();
    const before = await dumpLive();
    const checkpoints = await server.readStore.checkpoints();
    const rebuild = spawnCli(['rebuild', 'all', '--max-rate', '50', '--batch-size', '25'], env);
    // Interrupt once the bar shows progress (a line per second without a terminal).
    await shown(rebuild, /[1-9]\d* events\/s/);
    rebuild.child.kill('SIGINT');
    assert.equal(await rebuild.exited, 130);
    assert.match(rebuild.stderr, /im: rebuild interrupted: the shadow copies were dropped and the live projections are untouched/);
    assert.deepEqual(await dumpLive(), before);
    assert.deepEqual(await server.readStore.checkpoints(), checkpoints);
    assert.deepEqual(leftoverTables(server.dataDir), []);
  });

  it('recovers from a rebuild killed outright: the next one drops the leftovers and takes the lock over', async () => {
    const killed = spawnCli(['rebuild', 'all', '--max-rate', '50', '--batch-size', '25'], env);
    await shown(killed, /[1-9]\d* events\/s/);
    killed.child.kill('SIGKILL');
    await killed.exited;
    assert.notDeepEqual(leftoverTables(server.dataDir), [], 'a killed rebuild leaves its shadow tables');

    const again = await runCli(['rebuild', 'users'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(leftoverTables(server.dataDir), []);
    await settle();
    assert.deepEqual(await dumpLive(), await freshRebuild(server.store, tmp.dir, PULL_THRESHOLD));
  });

  it('refuses a second rebuild while one is running', async () => {
    const first = spawnCli(['rebuild', 'all', '--max-rate', '40', '--batch-size', '20'], env);
    await shown(first, /[1-9]\d* events\/s/);
    const second = await runCli(['rebuild', 'inbox'], env);
    assert.equal(first.child.exitCode, null, 'the first rebuild is still running');
    assert.equal(second.code, 1);
    assert.match(second.stderr, /^im: another rebuild \(pid \d+, started .*\) is running\n$/);
    first.child.kill('SIGINT');
    assert.equal(await first.exited, 130);
  });
});
