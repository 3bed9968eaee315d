import { join } from 'node:path';
import { openSqlite } from '../../src/db/sqlite.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { ProjectionRunner } from '../../src/projections/runner.js';
import { SqliteReadStore } from '../../src/projections/stores/sqlite.js';
import { newConversationCache } from '../../src/server.js';
import { params, report } from '../lib/child.js';
import { Seeder } from '../lib/seed.js';

/**
 * Projection rebuild: seeds `events` events (users, direct and group conversations, then messages)
 * into an event store file, then times ProjectionRunner.catchUp over all projections from
 * position 0 into a fresh SQLite read store in its own file (the embedded profile's durability).
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
  const eventsDb = openSqlite(join(p.dataDir, 'chat.db'));
  const readDb = openSqlite(join(p.dataDir, 'readmodels.db'));
  const store = new SqliteEventStore(eventsDb);
  // Time spent inside the read store's write transactions, to split the rebuild between projecting and writing.
  const readStore = new SqliteReadStore(readDb);
  const apply = readStore.apply.bind(readStore);
  let applySeconds = 0;
  let writes = 0;
  readStore.apply = async (batch) => {
    const t = performance.now();
    await apply(batch);
    applySeconds += (performance.now() - t) / 1000;
    writes += batch.writes.length;
  };
  const runner = new ProjectionRunner({
    store,
    readStore,
    conversations: newConversationCache(store),
    options: { inboxPullThreshold: 500 },
  });
  const t1 = performance.now();
  let lastLog = t1;
  let applied = 0;
  const position = await runner.catchUp({
    onBatch: (_position, count) => {
      applied += count;
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        process.stderr.write(`rebuild: ${applied}/${seeded} events\n`);
      }
    },
  });
  const seconds = (performance.now() - t1) / 1000;
  const counts = Object.fromEntries(
    ['rm_conversations', 'rm_user_conversations', 'rm_messages', 'rm_inbox', 'rm_users'].map((t) => [
      t,
      Number(readDb.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get()),
    ]),
  );
  await report('result', { events: applied, position, seconds, eventsPerSec: applied / seconds, applySeconds, writes, rows: counts });
  eventsDb.close();
  readDb.close();
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
