import { join } from 'node:path';
import { openSqlite } from '../../src/db/sqlite.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { personalData } from '../../src/privacy/index.js';
import { SqliteKeyStore } from '../../src/privacy/sqliteKeyStore.js';
import { projectionNames } from '../../src/projections/projectors.js';
import { rebuildProjections } from '../../src/projections/rebuild.js';
import { SqliteReadStore } from '../../src/projections/stores/sqlite.js';
import { SqliteRebuildTarget } from '../../src/projections/stores/sqliteRebuild.js';
import { newConversationCache } from '../../src/server.js';
import { params, report } from '../lib/child.js';
import { MASTER_KEY } from '../lib/proc.js';
import { Seeder } from '../lib/seed.js';

/**
 * Projection rebuild: seeds `events` events (users, direct and group conversations, then messages)
 * into the embedded profile's file, personal fields sealed as the server seals them, then times a rebuild of every projection from position 0 as
 * `im rebuild all` runs it.
 */
interface Params {
  dataDir: string;
  events: number;
}

const p = params<Params>();
const USERS = 1000;
const DIRECTS = 500;
const GROUPS = 100;
const GROUP_SIZE = 20;
/** The batch size `im rebuild` uses by default. */
const REBUILD_BATCH = 2000;
/** Messages per conversation per round: conversations interleave in the feed, as in live traffic. */
const CHUNK = 20;

async function seed(): Promise<number> {
  const seeder = new Seeder(p.dataDir);
  const users = await seeder.users(USERS, 'r', false);
  const conversations: { id: string; senders: string[]; revision: number }[] = [];
  for (let i = 0; i < DIRECTS; i++) {
    const a = users[i % USERS]!;
    const b = users[(i * 7 + 1) % USERS]!;
    if (a === b) continue;
    const id = await seeder.direct(a, b);
    if (!conversations.some((c) => c.id === id)) conversations.push({ id, senders: [a.userId, b.userId], revision: 0 });
  }
  for (let g = 0; g < GROUPS; g++) {
    const members = Array.from({ length: GROUP_SIZE }, (_, i) => users[(g * GROUP_SIZE + i * 13) % USERS]!);
    const unique = [...new Map(members.map((m) => [m.userId, m])).values()];
    conversations.push({ id: await seeder.group(unique[0]!, unique, `g${g}`), senders: unique.map((m) => m.userId), revision: 0 });
  }
  let total = Number(seeder.db.prepare('SELECT COUNT(*) AS n FROM events').pluck().get());
  // Messages in chunks; one group-committed transaction per round over every conversation.
  for (let round = 0; total < p.events && round < 1_000_000; round++) {
    const appends: Promise<void>[] = [];
    for (const c of conversations) {
      const n = Math.min(CHUNK, p.events - total);
      if (n <= 0) break;
      appends.push(seeder.messages(c.id, c.senders, n, c.revision));
      c.revision += n;
      total += n;
    }
    await Promise.all(appends);
  }
  seeder.db.pragma('wal_checkpoint(TRUNCATE)');
  seeder.close();
  return total;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const seeded = await seed();
  await report('seeded', { events: seeded, seconds: (performance.now() - t0) / 1000 });
  // What `im rebuild all` does on the embedded profile's file: events read through the sealed
  // store (personal fields opened with their users' keys), shadow tables next to the live ones,
  // filled in batches of the CLI's default size, then swapped in.
  const db = openSqlite(join(p.dataDir, 'chat.db'));
  const { store } = personalData({ DATA_DIR: p.dataDir, MASTER_KEY }, { store: new SqliteEventStore(db), keys: new SqliteKeyStore(db) });
  // The live tables the swap replaces, as a server creates them at its first start.
  void new SqliteReadStore(db);
  const t1 = performance.now();
  let lastLog = t1;
  let applied = 0;
  const position = await rebuildProjections(
    [...projectionNames],
    { store, target: new SqliteRebuildTarget(db), conversations: newConversationCache(store), options: { inboxPullThreshold: 500 } },
    {
      pageSize: REBUILD_BATCH,
      onBatch: (_position, count) => {
        applied += count;
        if (performance.now() - lastLog > 5000) {
          lastLog = performance.now();
          process.stderr.write(`rebuild: ${applied}/${seeded} events\n`);
        }
      },
    },
  );
  const seconds = (performance.now() - t1) / 1000;
  const counts = Object.fromEntries(
    ['rm_conversations', 'rm_user_conversations', 'rm_messages', 'rm_inbox', 'rm_users'].map((t) => [
      t,
      Number(db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get()),
    ]),
  );
  await report('result', { events: applied, position, seconds, eventsPerSec: applied / seconds, rows: counts });
  db.close();
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
