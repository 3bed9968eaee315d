/**
 * Rebuild speed on the embedded profile: seeds a data directory with a realistic event mix
 * (users, direct and group conversations, sends, delivered and read markers), then times
 * `im rebuild all` as an operator runs it.
 *
 *   npx tsx bench/rebuild.ts --events 1000000 [--dir /path/to/data] [--batch-size 2000]
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { eventMetadata } from '../src/commands/commandHandler.js';
import { openSqlite } from '../src/db/sqlite.js';
import { conversationStream, usernameStream, userStream } from '../src/domain/streams.js';
import type { EventToAppend } from '../src/eventstore/port.js';
import { SqliteEventStore } from '../src/eventstore/sqlite.js';
import { personalData, usernameHasher } from '../src/privacy/index.js';
import { SqliteKeyStore } from '../src/privacy/sqliteKeyStore.js';

const args = z
  .object({
    events: z.coerce.number().int().min(1000).default(1_000_000),
    dir: z.string().optional(),
    'batch-size': z.coerce.number().int().min(1).default(2000),
  })
  .parse(parseArgs({ options: { events: { type: 'string' }, dir: { type: 'string' }, 'batch-size': { type: 'string' } } }).values);

const USERS = Math.max(10, Math.round(args.events / 500));
const CONVERSATIONS = Math.max(5, Math.round(args.events / 200));
/** Streams appended per group commit while seeding. */
const STREAMS_PER_COMMIT = 5000;

interface Conversation {
  id: string;
  members: string[];
  lastSeq: number;
  read: Map<string, number>;
}

/** A deterministic pseudo-random sequence, so that runs are comparable. */
function random(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

async function seed(dataDir: string): Promise<number> {
  const db = openSqlite(join(dataDir, 'chat.db'));
  // Sealed as the server seals them, with the master key generated in the data directory, which
  // `im rebuild` then opens them with.
  const personal = personalData({ DATA_DIR: dataDir }, { store: new SqliteEventStore(db), keys: new SqliteKeyStore(db) });
  const store = personal.store;
  const hashUsername = usernameHasher(personal.master);
  const rnd = random(42);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const ctx = { correlationId: 'bench' };
  let pending = new Map<string, EventToAppend[]>();
  const revisions = new Map<string, number>();
  let count = 0;
  const add = (stream: string, type: string, data: unknown) => {
    const list = pending.get(stream) ?? [];
    list.push({ type, data, metadata: eventMetadata('dc1', ctx) });
    pending.set(stream, list);
    count++;
  };
  // All appends of a round are issued in one event-loop turn: the store commits them as one group.
  const flush = async () => {
    const batch = pending;
    pending = new Map();
    await Promise.all(
      [...batch].map(async ([stream, events]) => {
        const result = await store.append(stream, events, revisions.get(stream) ?? 'no_stream');
        revisions.set(stream, result.nextExpectedRevision);
      }),
    );
  };

  const users = Array.from({ length: USERS }, (_, i) => ({ id: randomUUID(), name: `user${i}` }));
  for (const u of users) {
    add(usernameStream(hashUsername(u.name)), 'UsernameReserved', { username: u.name, userId: u.id });
    add(userStream(u.id), 'UserRegistered', { userId: u.id, username: u.name, displayName: u.name, passwordHash: 'scrypt$bench' });
  }
  const conversations: Conversation[] = [];
  for (let i = 0; i < CONVERSATIONS; i++) {
    const size = rnd() < 0.7 ? 2 : 3 + Math.floor(rnd() * 20);
    const members = [...new Set(Array.from({ length: size }, () => pick(users).id))];
    if (members.length < 2) continue;
    const c: Conversation = { id: randomUUID(), members, lastSeq: 0, read: new Map(members.map((m) => [m, 0])) };
    conversations.push(c);
    add(conversationStream(c.id), 'ConversationCreated', {
      conversationId: c.id,
      kind: members.length === 2 ? 'direct' : 'group',
      title: members.length === 2 ? null : `group ${i}`,
      createdBy: members[0],
      members: members.map((userId, j) => ({ userId, role: j === 0 ? 'owner' : 'member' })),
      homeDc: 'dc1',
    });
  }
  await flush();
  while (count < args.events) {
    const c = pick(conversations);
    const member = pick(c.members);
    const roll = rnd();
    c.lastSeq++;
    if (roll < 0.8 || c.read.get(member) === c.lastSeq - 1) {
      c.read.set(member, c.lastSeq);
      add(conversationStream(c.id), 'MessageSent', {
        messageId: randomUUID(),
        senderId: member,
        clientMsgId: randomUUID(),
        kind: 'text',
        text: `message ${count} with some ordinary chat text in it`,
        media: null,
      });
    } else {
      c.read.set(member, c.lastSeq - 1);
      add(conversationStream(c.id), roll < 0.95 ? 'MessageRead' : 'MessagesDelivered', { userId: member, upToSeq: c.lastSeq - 1 });
    }
    if (pending.size >= STREAMS_PER_COMMIT) await flush();
  }
  await flush();
  db.close();
  return count;
}

const dataDir = args.dir ?? mkdtempSync(join(tmpdir(), 'chat-bench-'));
try {
  let started = Date.now();
  const events = await seed(dataDir);
  console.log(`seeded ${events} events (${USERS} users, ${CONVERSATIONS} conversations) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  started = Date.now();
  const run = spawnSync(process.execPath, ['bin/im.js', 'rebuild', 'all', '--batch-size', String(args['batch-size'])], {
    env: { ...process.env, DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const seconds = (Date.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`im rebuild failed with ${run.status}`);
  process.stdout.write(run.stdout);
  console.log(`im rebuild all: ${events} events in ${seconds.toFixed(1)} s wall clock, process start included (${Math.round(events / seconds)} events/s)`);
} finally {
  if (!args.dir) rmSync(dataDir, { recursive: true, force: true });
}
