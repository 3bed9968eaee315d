import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { openSqlite } from '../../src/db/sqlite.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { personalData } from '../../src/privacy/index.js';
import { SqliteKeyStore } from '../../src/privacy/sqliteKeyStore.js';
import { ProjectionRunner } from '../../src/projections/runner.js';
import { SqliteReadStore } from '../../src/projections/stores/sqlite.js';
import { newConversationCache } from '../../src/server.js';
import type { ApiClient } from '../support/client.js';
import { tempDir } from '../support/tmp.js';
import type { Ack, Outgoing } from './senders.js';

export interface AckedMessage extends Ack, Outgoing {
  senderId: string;
}

export interface TimelineReport {
  lost: number;
  duplicated: number;
  gaps: number;
  problems: string[];
}

const timelinePage = z.object({
  items: z.array(
    z.object({
      seq: z.number().int(),
      type: z.string(),
      data: z.object({ messageId: z.string(), senderId: z.string(), clientMsgId: z.string() }).partial().passthrough(),
    }),
  ),
});

/**
 * Reads every conversation's whole timeline through the API and checks it against the acks:
 * seqs run 0, 1, 2, … without a gap; each (sender, clientMsgId) was stored once; and every acked
 * message sits at its acked seq with its acked messageId.
 */
export async function checkTimelines(
  api: ApiClient,
  conversations: { conversationId: string; token: string }[],
  acked: Iterable<AckedMessage>,
): Promise<TimelineReport> {
  const report: TimelineReport = { lost: 0, duplicated: 0, gaps: 0, problems: [] };
  const stored = new Map<string, { seq: number; messageId: string }>();
  for (const { conversationId, token } of conversations) {
    let expected = 0;
    for (;;) {
      const afterSeq = expected === 0 ? '' : `afterSeq=${expected - 1}&`;
      const res = await api.request('GET', `/v1/conversations/${conversationId}/events?${afterSeq}limit=1000`, { token });
      if (res.status !== 200) throw new Error(`timeline of ${conversationId}: ${res.status} ${JSON.stringify(res.body)}`);
      const { items } = timelinePage.parse(res.body);
      for (const e of items) {
        if (e.seq !== expected) {
          report.gaps++;
          report.problems.push(`${conversationId}: seq ${e.seq} where ${expected} was due`);
        }
        expected = e.seq + 1;
        if (e.type !== 'MessageSent') continue;
        recordStored(stored, report, conversationId, e.seq, e.data as StoredMessage);
      }
      if (items.length < 1000) break;
    }
  }
  countLost(stored, acked, report);
  return report;
}

export interface StoredMessage {
  messageId: string;
  senderId: string;
  clientMsgId: string;
}

type Stored = Map<string, { seq: number; messageId: string }>;
const sendKey = (conversationId: string, senderId: string, clientMsgId: string) => `${conversationId}/${senderId}/${clientMsgId}`;

/** Notes where a message is stored; a second copy of one (sender, clientMsgId) counts as duplicated. */
export function recordStored(stored: Stored, report: TimelineReport, conversationId: string, seq: number, message: StoredMessage): void {
  const key = sendKey(conversationId, message.senderId, message.clientMsgId);
  const earlier = stored.get(key);
  if (earlier) {
    report.duplicated++;
    report.problems.push(`${key} stored twice: seq ${earlier.seq} and ${seq}`);
  } else stored.set(key, { seq, messageId: message.messageId });
}

/** Counts as lost every acked message that is not stored at its acked seq with its acked messageId. */
export function countLost(stored: Stored, acked: Iterable<Omit<AckedMessage, 'text'>>, report: TimelineReport): void {
  for (const a of acked) {
    const found = stored.get(sendKey(a.conversationId, a.senderId, a.clientMsgId));
    if (!found || found.seq !== a.seq || found.messageId !== a.messageId) {
      report.lost++;
      report.problems.push(`acked ${a.clientMsgId} at seq ${a.seq} (${a.messageId}) is ${found ? `at seq ${found.seq} (${found.messageId})` : 'missing'}`);
    }
  }
}

/** Waits until every projection checkpoint of the running server reaches the event store's head. */
export async function waitForCaughtUp(dbFile: string, timeoutMs = 20_000): Promise<void> {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const head = (db.prepare('SELECT COALESCE(MAX(position), 0) AS p FROM events').get() as { p: number }).p;
      const low = (db.prepare('SELECT MIN(position) AS p FROM rm_checkpoints').get() as { p: number | null }).p;
      if (low !== null && low >= head) return;
      if (Date.now() > deadline) throw new Error(`projections stuck at ${low}, head ${head}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    db.close();
  }
}

/**
 * Compares the running server's read models with a fresh rebuild from its event store. Both come
 * from one consistent snapshot of its database (SQLite's online backup, read-only on the live
 * file), taken once the projections have caught up. Answers the names of the differing models.
 */
export async function checkProjections(dataDir: string, inboxPullThreshold: number, masterKey?: string): Promise<string[]> {
  const live = join(dataDir, 'chat.db');
  await waitForCaughtUp(live);
  const tmp = tempDir('chat-crash-check-');
  try {
    const source = new Database(live, { readonly: true, fileMustExist: true });
    await source.backup(join(tmp.dir, 'snapshot.db'));
    source.close();
    const snapshot = openSqlite(join(tmp.dir, 'snapshot.db'));
    const rebuiltDb = openSqlite(join(tmp.dir, 'rebuilt.db'));
    // Opened as the server opens it: with the keys in the snapshot and the server's master key.
    const { store } = personalData({ DATA_DIR: dataDir, MASTER_KEY: masterKey }, { store: new SqliteEventStore(snapshot), keys: new SqliteKeyStore(snapshot) });
    const rebuilt = new SqliteReadStore(rebuiltDb);
    await new ProjectionRunner({ store, readStore: rebuilt, conversations: newConversationCache(store), options: { inboxPullThreshold } }).catchUp();
    const expected = await rebuilt.dump();
    const actual = await new SqliteReadStore(snapshot).dump();
    await store.close();
    snapshot.close();
    rebuiltDb.close();
    const names = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    return [...names].filter((name) => !isDeepStrictEqual(actual[name], expected[name]));
  } finally {
    tmp.remove();
  }
}
