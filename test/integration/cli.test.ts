import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqlite } from '../../src/db/sqlite.js';
import { ApiClient } from '../support/client.js';
import { runCli } from '../support/cli.js';
import { startTestServer, type TestServer, embeddedOnly } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { workload } from '../support/workload.js';

const COMMANDS = ['status', 'rebuild', 'replay', 'events', 'export-user', 'analytics'];

describe('im, the operator CLI, against a live data directory', { skip: embeddedOnly }, () => {
  let server: TestServer;
  let actors: Awaited<ReturnType<typeof workload>>;
  let env: Record<string, string>;
  const tmp = tempDir();
  const im = (...args: string[]) => runCli(args, env);

  before(async () => {
    server = await startTestServer({ INBOX_PULL_THRESHOLD: '3' });
    actors = await workload(new ApiClient(server.url));
    assert.ok(await server.projections.waitFor(await server.store.headPosition()));
    env = { DATA_DIR: server.dataDir, INBOX_PULL_THRESHOLD: '3' };
  });
  after(async () => {
    await server.stop();
    tmp.remove();
  });

  it('has --help on every command', async () => {
    const top = await im('--help');
    assert.equal(top.code, 0);
    const helps = await Promise.all(COMMANDS.map((command) => im(command, '--help')));
    COMMANDS.forEach((command, i) => {
      assert.match(top.stdout, new RegExp(`^  ${command} `, 'm'));
      assert.equal(helps[i]!.code, 0, command);
      assert.match(helps[i]!.stdout, new RegExp(`^Usage: im ${command} `), command);
    });
  });

  it('status shows every projection at the head and the events per type', async () => {
    const head = await server.store.headPosition();
    const { code, stdout } = await im('status', '--json');
    assert.equal(code, 0);
    const status = JSON.parse(stdout);
    assert.equal(status.head, head);
    assert.deepEqual(
      status.checkpoints.map((c: any) => [c.name, c.kind, c.position, c.lagEvents, c.lagSeconds]),
      ['conversations', 'userConversations', 'messages', 'inbox', 'users'].map((n) => [n, 'projection', head, 0, 0]),
    );
    assert.equal(status.eventCounts.MessageSent, 14);
    assert.equal(status.eventCounts.UserRegistered, 5);
    assert.equal(status.totalEvents, head);

    const table = await im('status');
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(`^head position: ${head}$`, 'm'));
    assert.match(table.stdout, /│ userConversations +│ projection │ \d+ +│ 0 +│ 0\.0 +│/);
    assert.match(table.stdout, /│ MessageSent +│ 14 +│/);
  });

  it('status counts another consumer\'s checkpoint and its lag', async () => {
    const db = openSqlite(join(server.dataDir, 'chat.db'));
    db.prepare(`INSERT INTO rm_checkpoints (name, position) VALUES ('push', 10)`).run();
    db.close();
    try {
      const status = JSON.parse((await im('status', '--json')).stdout);
      const push = status.checkpoints.find((c: any) => c.name === 'push');
      assert.equal(push.kind, 'consumer');
      assert.equal(push.lagEvents, status.head - 10);
      assert.ok(push.lagSeconds > 0);
    } finally {
      const db2 = openSqlite(join(server.dataDir, 'chat.db'));
      db2.prepare(`DELETE FROM rm_checkpoints WHERE name = 'push'`).run();
      db2.close();
    }
  });

  it('events prints a conversation timeline by seq', async () => {
    const { small } = actors.conversations;
    const { code, stdout } = await im('events', small, '--json');
    assert.equal(code, 0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((e) => e.seq), [...Array(lines.length).keys()]);
    assert.deepEqual(
      lines.map((e) => e.type),
      ['ConversationCreated', 'MessageSent', 'MessageEdited', 'MessageSent', 'MessageRecalled', 'MemberAdded', 'MemberRoleChanged', 'MemberRemoved', 'MessageSent'],
    );
    const text = await im('events', small);
    assert.match(text.stdout.split('\n')[2]!, /^ {5}2 {2}\S+Z {2}MessageEdited +\{.*"text":"hello"\}$/);
  });

  it('export-user gives everything stored about a user, without the password hash', async () => {
    const { cat } = actors.users;
    const { code, stdout } = await im('export-user', cat.userId);
    assert.equal(code, 0);
    const exported = JSON.parse(stdout);
    assert.equal(exported.userId, cat.userId);
    assert.equal(exported.account.username, cat.username);
    assert.equal(exported.account.passwordHash, '[redacted]');
    assert.doesNotMatch(stdout, /scrypt|\$[0-9a-z]+\$/i);
    assert.deepEqual(exported.userEvents.map((e: any) => e.type), ['UserRegistered', 'ConversationDeletedForMe']);
    assert.equal(exported.profile.displayName, 'cat');
    const byTitle = Object.fromEntries(exported.conversations.map((c: any) => [c.title, c]));
    assert.deepEqual(Object.keys(byTitle).sort(), ['big (pull mode)', 'bigger', 'small'].filter((t) => t in byTitle).sort());
    const small = byTitle.small;
    assert.ok(small, 'a conversation deleted from her list is still exported');
    assert.equal(small.membership.leftSeq, 7, 'cat was removed from small at seq 7');
    assert.deepEqual(small.events.map((e: any) => e.type), ['ConversationCreated', 'MessageSent', 'MessageEdited', 'MemberRemoved']);
    assert.equal(small.events[1].data.text, 'helo');
  });

  it('analytics counts messages per hour, daily active senders and the busiest conversations', async () => {
    const { code, stdout } = await im('analytics', '--json', '--hours', '2', '--top', '2');
    assert.equal(code, 0);
    const figures = JSON.parse(stdout);
    assert.ok(figures.messagesPerHour.length <= 2);
    assert.deepEqual(figures.dailyActiveSenders.map((d: any) => d.senders), [5]);
    assert.deepEqual(figures.busiestConversations, [
      { conversationId: actors.conversations.dm, messages: 6 },
      { conversationId: actors.conversations.big, messages: 5 },
    ]);
    const all = JSON.parse((await im('analytics', '--json')).stdout);
    assert.equal(all.messagesPerHour.reduce((n: number, h: any) => n + h.messages, 0), 14);
    const table = (await im('analytics')).stdout;
    assert.match(table, /busiest conversations/);
    assert.ok(table.includes(actors.conversations.dm));
  });

  it('replay restores lost documents and changes nothing else', async () => {
    const before = await server.readStore.dump();
    const db = openSqlite(join(server.dataDir, 'chat.db'));
    db.prepare('DELETE FROM rm_messages WHERE conversation_id = ?').run(actors.conversations.dm);
    db.close();
    const head = await server.store.headPosition();
    const { code, stdout } = await im('replay', '--from', '1', '--to', String(head), '--projection', 'messages');
    assert.equal(code, 0);
    assert.match(stdout, new RegExp(`^replayed positions 1\\.\\.${head} into messages: ${head} events`));
    assert.deepEqual(await server.readStore.dump(), before);
  });

  it('refuses bad input with one line and a non-zero exit, changing nothing', async () => {
    const before = await server.readStore.dump();
    const head = await server.store.headPosition();
    const cases: [string[], RegExp][] = [
      [['rebuild', 'inboxes'], /'inboxes' is invalid for argument 'projection'\. unknown projection; one of: conversations, userConversations, messages, inbox, users/],
      [['replay', '--from', '1', '--projection', 'nope'], /unknown projection/],
      [['replay', '--from', String(head + 1)], new RegExp(`^im: --from ${head + 1} is past the head of the event store \\(position ${head}\\)$`)],
      [['replay', '--from', '1', '--to', String(head + 5)], /^im: --to \d+ is past the head/],
      [['replay', '--from', '0'], /expected a whole number of at least 1/],
      [['replay', '--from', '5', '--to', '2'], /^im: --to 2 is before --from 5$/],
      [['events', 'no-such-conversation'], /^im: no conversation no-such-conversation$/],
      [['export-user', 'no-such-user'], /^im: no user no-such-user$/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await im(...args);
      assert.notEqual(code, 0, args.join(' '));
      assert.equal(stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr.trim(), message, args.join(' '));
    }
    assert.deepEqual(await server.readStore.dump(), before);
  });

  it('refuses a DATA_DIR without data, and creates nothing there', async () => {
    const missing = join(tmp.dir, 'nowhere');
    const { code, stderr } = await runCli(['status'], { DATA_DIR: missing });
    assert.equal(code, 1);
    assert.equal(stderr, `im: DATA_DIR=${missing} holds no chat data (${join(missing, 'chat.db')} does not exist)\n`);
    assert.equal(existsSync(missing), false);
    const bad = await runCli(['status'], { DATA_DIR: server.dataDir, INBOX_PULL_THRESHOLD: 'lots' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^im: invalid configuration: INBOX_PULL_THRESHOLD="lots": .*\n$/);
  });
});
