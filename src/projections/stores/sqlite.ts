import type { Statement } from 'better-sqlite3';
import { commitWithoutFsync, type SqliteDatabase } from '../../db/sqlite.js';
import { assertHoldsLease, ensureLeaseTable, type FencingToken } from '../../lease/index.js';
import {
  collectionKeys,
  type Collection,
  type ConversationDoc,
  type ConversationListItem,
  type InboxEntry,
  type MessageDoc,
  type ScrubTarget,
  type UserConversationDoc,
  type UserDoc,
  type WriteBatch,
} from '../model.js';
import { dayOf, hourOf, orderReport } from '../analytics.js';
import type { AnalyticsQuery, AnalyticsReport, ListOptions, MediaReference, MessageFact, MessageRange, ReadStoreAdapter } from '../ports.js';
import { rankFields, type Rank } from '../ranking.js';
import { scrubs, type Owner, type Scrub } from '../scrub.js';
import { foldDocument, inboxUsers, numberInboxEntries, scrubsOf, upsertsByDocument, writesToApply, type InboxCounter } from '../writeFold.js';

export type TableKind = Collection | 'inbox' | 'checkpoints';

/** The table names of one copy of the read models: the live one, or a rebuild's shadow copy. */
export type ReadModelTables = Record<TableKind, string>;

const baseTables: ReadModelTables = {
  conversations: 'rm_conversations',
  userConversations: 'rm_user_conversations',
  messages: 'rm_messages',
  users: 'rm_users',
  inbox: 'rm_inbox',
  checkpoints: 'rm_checkpoints',
};
const collections = ['conversations', 'userConversations', 'messages', 'users'] as const satisfies Collection[];
/** Analytics facts and last-seen times are not projections: never rebuilt, so no shadow copies. */
const ANALYTICS = 'rm_analytics_messages';
const LAST_SEEN = 'presence_last_seen';

export const tablesWithSuffix = (suffix: string): ReadModelTables =>
  Object.fromEntries(Object.entries(baseTables).map(([kind, name]) => [kind, name + suffix])) as ReadModelTables;
export const liveTables = baseTables;

/** Which projection owns which table, so a rebuild of one replaces only its own. */
export const tablesOfProjection: Record<string, TableKind[]> = {
  conversations: ['conversations'],
  userConversations: ['userConversations'],
  messages: ['messages'],
  users: ['users'],
  inbox: ['inbox'],
};

/**
 * Secondary indexes by the live table they belong to. A renamed table keeps its indexes under
 * their old names, so a shadow copy builds its indexes under the other name of each pair and the
 * names alternate from one rebuild to the next (see ensureIndex).
 */
const secondaryIndexes: { kind: TableKind; name: string; on: string }[] = [
  { kind: 'userConversations', name: 'rm_user_conversations_by_conversation', on: '(conversation_id)' },
  { kind: 'users', name: 'rm_users_by_username', on: `(json_extract(doc, '$.username'))` },
  // Partial: text messages, most of the history, stay out of it.
  { kind: 'messages', name: 'rm_messages_by_media', on: `(json_extract(doc, '$.media.hash')) WHERE json_extract(doc, '$.media.hash') IS NOT NULL` },
];

/** Indexes of queries this store no longer makes: dropped, so writes stop paying for them. */
const retiredIndexes = ['rm_messages_by_client_id', 'rm_messages_by_client_id_alt'];

/** Creates the index unless the table has it under either of its two names; picks the free name. */
function ensureIndex(db: SqliteDatabase, table: string, name: string, on: string): void {
  const names = [name, `${name}_alt`];
  const existing = db
    .prepare(`SELECT name, tbl_name AS tableName FROM sqlite_master WHERE type = 'index' AND name IN (?, ?)`)
    .all(...names) as { name: string; tableName: string }[];
  if (existing.some((i) => i.tableName === table)) return;
  const free = names.find((n) => !existing.some((i) => i.name === n));
  if (!free) throw new Error(`index names ${names.join(', ')} are both taken by other tables`);
  db.exec(`CREATE INDEX ${free} ON ${table} ${on}`);
}

const column = (field: string) => field.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

interface DocRow {
  pos: number;
  doc: string;
}

type Params = Record<string, unknown>;

/** SQL for a list column of the ranking, over `uc` (the membership) joined with `c` (the conversation). */
const rankColumns: Record<keyof Rank, string> = {
  pinned: `json_extract(uc.doc, '$.pinned')`,
  lastActivityAt: `COALESCE(json_extract(uc.doc, '$.frozen.lastActivityAt'), json_extract(c.doc, '$.lastActivityAt'))`,
  conversationId: 'uc.conversation_id',
};
const rankOrderBy = rankFields.map((field) => `${rankColumns[field]} DESC`).join(', ');
/** Rows ranked after the cursor (named parameters per rank field): the first field that differs is smaller. */
const rankedAfterCursor = rankFields.reduceRight(
  (rest, field) => `(${rankColumns[field]} < @${field}${rest && ` OR (${rankColumns[field]} = @${field} AND ${rest})`})`,
  '',
);
const cursorParams = (cursor: Rank): Params => ({ ...cursor, pinned: cursor.pinned ? 1 : 0 });

/** listing.ts's isListed over `uc` and `c`, or every row with @includeUnlisted = 1. */
const listedOrAll = `(@includeUnlisted = 1 OR (
  json_extract(c.doc, '$.deleted') IS NULL AND (
    json_extract(uc.doc, '$.removedUpToSeq') IS NULL
    OR COALESCE(CASE WHEN json_type(uc.doc, '$.frozen') = 'object' THEN json_extract(uc.doc, '$.frozen.lastMessage.seq') ELSE json_extract(c.doc, '$.lastMessage.seq') END, -1)
      > json_extract(uc.doc, '$.removedUpToSeq'))))`;

/** What the reader deleted for themselves, as a seq floor and a JSON array for json_each. */
const hiddenParams = (hidden: MessageRange['hidden']) => [hidden?.clearedUpToSeq ?? -1, JSON.stringify(hidden?.hiddenSeqs ?? [])];
const notHidden = `seq > ? AND seq NOT IN (SELECT value FROM json_each(?))`;

const jsonPath = (path: readonly string[]) => `'$.${path.join('.')}'`;
const ownedBy = ({ path, type }: Owner) =>
  `(json_extract(doc, ${jsonPath(path)}) = @userId${type ? ` AND json_extract(doc, '$.type') = '${type}'` : ''})`;
/**
 * The documents a scrub empties. No index serves it: the scan reads the whole table (inside the
 * batch's transaction, so writers wait for it), which an erase, rare as it is, can afford, while
 * every other write is spared an index on the sender.
 */
const scrubbedRowsSql = (table: string, scrub: Scrub) =>
  `SELECT rowid, doc FROM ${table} WHERE (${scrub.owners.map(ownedBy).join(' OR ')}) AND json_extract(doc, ${jsonPath(scrub.done)}) IS NOT 1`;

/**
 * Read models in the embedded SQLite file. Documents are JSON with their key fields as columns;
 * a batch of writes and the projections' checkpoints commit in one transaction, so a crash leaves
 * either both or neither. `tables` selects the copy: the live tables, or a rebuild's shadow ones.
 */
export class SqliteReadStore implements ReadStoreAdapter {
  private readonly docStmts: Record<Collection, { get: Statement; put: Statement }>;
  private readonly inboxStmts: { counter: Statement<[string], InboxCounter | undefined>; insert: Statement };
  private readonly scrubStmts: Record<ScrubTarget, { rows: Statement<[{ userId: string }], { rowid: number; doc: string }>; put: Statement }>;
  /** Inbox counters per user, valid only while no other connection has written (see apply). */
  private readonly inboxCounters = new Map<string, InboxCounter>();
  private dataVersion: number | null = null;
  private readonly applyTx: (batch: WriteBatch, fence?: FencingToken) => void;
  private readonly q;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly t: ReadModelTables = liveTables,
  ) {
    for (const collection of collections) {
      const keys = collectionKeys[collection].map(column);
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${t[collection]} (${keys.map((k) => `${k} NOT NULL`).join(', ')}, pos INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (${keys.join(', ')}))`,
      );
    }
    db.exec(`
      CREATE TABLE IF NOT EXISTS ${t.inbox} (
        user_id TEXT NOT NULL, user_seq INTEGER NOT NULL, pos INTEGER NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (user_id, user_seq));
      CREATE TABLE IF NOT EXISTS ${t.checkpoints} (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS ${ANALYTICS} (
        event_id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, sender_id TEXT NOT NULL, hour TEXT NOT NULL, day TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS rm_analytics_by_hour ON ${ANALYTICS} (hour);
      CREATE TABLE IF NOT EXISTS ${LAST_SEEN} (user_id TEXT PRIMARY KEY, at TEXT NOT NULL);
    `);
    for (const index of secondaryIndexes) ensureIndex(db, t[index.kind], index.name, index.on);
    for (const name of retiredIndexes) db.exec(`DROP INDEX IF EXISTS ${name}`);
    this.docStmts = Object.fromEntries(
      collections.map((collection) => {
        const keys = collectionKeys[collection].map(column);
        const where = keys.map((k) => `${k} = ?`).join(' AND ');
        return [
          collection,
          {
            get: db.prepare(`SELECT pos, doc FROM ${t[collection]} WHERE ${where}`),
            put: db.prepare(
              `INSERT OR REPLACE INTO ${t[collection]} (${keys.join(', ')}, pos, doc) VALUES (${keys.map(() => '?').join(', ')}, ?, ?)`,
            ),
          },
        ];
      }),
    ) as Record<Collection, { get: Statement; put: Statement }>;
    this.inboxStmts = {
      // A user's entries are numbered in position order (numberInboxEntries), so the last one by
      // userSeq holds the highest position too: the primary key answers both, and no second index
      // on (user_id, pos) costs every one of the fan-out's inserts.
      counter: db.prepare(`SELECT user_seq AS userSeq, pos AS position FROM ${t.inbox} WHERE user_id = ? ORDER BY user_seq DESC LIMIT 1`),
      insert: db.prepare(`INSERT INTO ${t.inbox} (user_id, user_seq, pos, doc) VALUES (?, ?, ?, ?)`),
    };
    this.scrubStmts = Object.fromEntries(
      Object.entries(scrubs).map(([target, scrub]) => [
        target,
        {
          rows: db.prepare(scrubbedRowsSql(t[scrub.table], scrub)),
          // The position stays: a scrub is no event the document was projected from.
          put: db.prepare(`UPDATE ${t[scrub.table]} SET doc = ? WHERE rowid = ?`),
        },
      ]),
    ) as typeof this.scrubStmts;
    // Checkpoints only move forward: a rebuild may have moved one past this writer's batch.
    const saveCheckpoint = db.prepare(
      `INSERT INTO ${t.checkpoints} (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = MAX(position, excluded.position)`,
    );
    ensureLeaseTable(db);
    const tx = db.transaction((batch: WriteBatch, fence?: FencingToken) => {
      if (fence) assertHoldsLease(db, fence);
      this.forgetInboxCountersIfOthersWrote();
      const writes = writesToApply(batch, this.storedCheckpoints());
      this.applyUpserts(writes);
      this.applyInbox(writes);
      this.applyScrubs(writes);
      for (const [name, position] of Object.entries(batch.checkpoints)) saveCheckpoint.run(name, position);
    });
    this.applyTx = (batch, fence) => {
      try {
        // IMMEDIATE: the checkpoints and the lease read above must still hold when the writes land,
        // even with another process (the operator CLI, another instance) writing to the same file.
        commitWithoutFsync(db, () => tx.immediate(batch, fence));
      } catch (error) {
        // The cached inbox counters may have moved inside the rolled-back transaction.
        this.inboxCounters.clear();
        throw error;
      }
    };
    const listSql = (cursor: boolean, archived: boolean) => `
      SELECT uc.doc AS uc, c.doc AS c
      FROM ${t.userConversations} uc JOIN ${t.conversations} c ON c.conversation_id = uc.conversation_id
      WHERE uc.user_id = @userId AND ${listedOrAll}
      ${archived ? `AND json_extract(uc.doc, '$.archived') = @archived` : ''}
      ${cursor ? `AND ${rankedAfterCursor}` : ''}
      ORDER BY ${rankOrderBy} LIMIT @limit`;
    this.q = {
      checkpoints: db.prepare<[], { name: string; position: number }>(`SELECT name, position FROM ${t.checkpoints}`),
      conversation: db.prepare(`SELECT doc FROM ${t.conversations} WHERE conversation_id = ?`),
      members: db.prepare(
        `SELECT doc FROM ${t.userConversations} WHERE conversation_id = ? AND json_extract(doc, '$.leftSeq') IS NULL ORDER BY user_id`,
      ),
      list: db.prepare<[Params], { uc: string; c: string }>(listSql(false, false)),
      listCursor: db.prepare<[Params], { uc: string; c: string }>(listSql(true, false)),
      listArchived: db.prepare<[Params], { uc: string; c: string }>(listSql(false, true)),
      listArchivedCursor: db.prepare<[Params], { uc: string; c: string }>(listSql(true, true)),
      messagesForward: db.prepare(
        `SELECT doc FROM ${t.messages} WHERE conversation_id = ? AND seq > ? AND seq < ? AND seq <= ? AND ${notHidden} ORDER BY seq LIMIT ?`,
      ),
      mediaReferences: db.prepare<[string, number], MediaReference>(
        `SELECT conversation_id AS conversationId, seq FROM ${t.messages} WHERE json_extract(doc, '$.media.hash') = ? LIMIT ?`,
      ),
      messagesBackward: db.prepare(
        `SELECT doc FROM ${t.messages} WHERE conversation_id = ? AND seq < ? AND seq <= ? AND ${notHidden} ORDER BY seq DESC LIMIT ?`,
      ),
      inbox: db.prepare<[string, number, number], { user_seq: number; doc: string }>(
        `SELECT user_seq, doc FROM ${t.inbox} WHERE user_id = ? AND user_seq > ? ORDER BY user_seq LIMIT ?`,
      ),
      contacts: db.prepare<[string, number], { userId: string }>(`
        SELECT DISTINCT other.user_id AS userId
        FROM ${t.userConversations} me
        JOIN ${t.conversations} c ON c.conversation_id = me.conversation_id
        JOIN ${t.userConversations} other ON other.conversation_id = me.conversation_id AND other.user_id <> me.user_id
        WHERE me.user_id = ? AND json_extract(me.doc, '$.leftSeq') IS NULL AND json_extract(other.doc, '$.leftSeq') IS NULL
          AND (json_extract(c.doc, '$.kind') = 'direct' OR json_extract(c.doc, '$.memberCount') <= ?)`),
      shares: db.prepare(`
        SELECT 1 FROM ${t.userConversations} a
        JOIN ${t.userConversations} b ON b.user_id = ? AND b.conversation_id = a.conversation_id
        WHERE a.user_id = ? AND json_extract(a.doc, '$.leftSeq') IS NULL AND json_extract(b.doc, '$.leftSeq') IS NULL
        LIMIT 1`),
      saveLastSeen: db.prepare(
        // ISO 8601 UTC times compare correctly as text.
        `INSERT INTO ${LAST_SEEN} (user_id, at) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET at = max(at, excluded.at)`,
      ),
    };
  }

  // Projections

  async apply(batch: WriteBatch, fence?: FencingToken): Promise<void> {
    this.applyTx(batch, fence);
  }

  async checkpoints(): Promise<Record<string, number>> {
    return this.storedCheckpoints();
  }

  private storedCheckpoints(): Record<string, number> {
    return Object.fromEntries(this.q.checkpoints.all().map((r) => [r.name, r.position]));
  }

  /**
   * Each document is read, folded and written once per batch: a busy conversation's 1,000 events
   * in a page cost one row write per member, not 1,000.
   */
  private applyUpserts(writes: WriteBatch['writes']): void {
    for (const doc of upsertsByDocument(writes)) {
      const keyValues = collectionKeys[doc.collection].map((k) => doc.key[k]);
      const { get, put } = this.docStmts[doc.collection];
      const row = get.get(...keyValues) as DocRow | undefined;
      const folded = foldDocument(doc, row?.pos);
      if (!folded) continue;
      const stored = row ? { ...JSON.parse(row.doc), ...folded.set } : { ...folded.key, ...folded.setOnInsert, ...folded.set };
      put.run(...keyValues, folded.position, JSON.stringify(stored));
    }
  }

  private applyInbox(writes: WriteBatch['writes']): void {
    const stored = new Map(inboxUsers(writes).map((userId) => [userId, this.inboxCounter(userId)]));
    const { entries, counters } = numberInboxEntries(writes, stored);
    let serialisedAt = -1;
    let json = '';
    for (const { entry, position } of entries) {
      const { userId, userSeq, ...doc } = entry;
      // One event fans out the same entry to every recipient: serialise it once.
      if (serialisedAt !== position) [serialisedAt, json] = [position, JSON.stringify(doc)];
      this.inboxStmts.insert.run(userId, userSeq, position, json);
    }
    for (const [userId, counter] of counters) this.inboxCounters.set(userId, counter);
  }

  private applyScrubs(writes: WriteBatch['writes']): void {
    for (const { target, userId } of scrubsOf(writes)) {
      const { rows, put } = this.scrubStmts[target];
      for (const row of rows.all({ userId })) put.run(JSON.stringify(scrubs[target].scrub(JSON.parse(row.doc))), row.rowid);
    }
  }

  private inboxCounter(userId: string): InboxCounter {
    let counter = this.inboxCounters.get(userId);
    if (!counter) {
      const row = this.inboxStmts.counter.get(userId);
      counter = { userSeq: row?.userSeq ?? 0, position: row?.position ?? 0 };
      this.inboxCounters.set(userId, counter);
    }
    return counter;
  }

  /**
   * Another connection (the operator CLI replaying events or swapping a rebuilt inbox in) may have
   * changed the inbox behind the cached counters; SQLite's data_version tells, cheaply.
   */
  private forgetInboxCountersIfOthersWrote(): void {
    const version = this.db.pragma('data_version', { simple: true }) as number;
    if (version !== this.dataVersion) this.inboxCounters.clear();
    this.dataVersion = version;
  }

  // Conversations

  async getConversation(conversationId: string): Promise<ConversationDoc | null> {
    return parseDoc(this.q.conversation.get(conversationId));
  }

  async listMembers(conversationId: string): Promise<UserConversationDoc[]> {
    return parseDocs(this.q.members.all(conversationId));
  }

  async listConversations(userId: string, { limit, cursor, archived, includeUnlisted }: ListOptions): Promise<ConversationListItem[]> {
    const params: Params = { userId, limit, includeUnlisted: includeUnlisted ? 1 : 0, ...(cursor ? cursorParams(cursor) : {}) };
    if (archived !== undefined) params.archived = archived ? 1 : 0;
    const stmt = archived === undefined ? (cursor ? this.q.listCursor : this.q.list) : cursor ? this.q.listArchivedCursor : this.q.listArchived;
    return stmt.all(params).map((r) => ({ conversation: JSON.parse(r.c), membership: JSON.parse(r.uc) }));
  }

  // Messages

  async listMessages(conversationId: string, { afterSeq, beforeSeq, maxSeq, limit, hidden }: MessageRange): Promise<MessageDoc[]> {
    if (afterSeq === undefined && beforeSeq !== undefined) {
      return parseDocs<MessageDoc>(this.q.messagesBackward.all(conversationId, beforeSeq, maxSeq, ...hiddenParams(hidden), limit)).reverse();
    }
    return parseDocs(
      this.q.messagesForward.all(conversationId, afterSeq ?? -1, beforeSeq ?? Number.MAX_SAFE_INTEGER, maxSeq, ...hiddenParams(hidden), limit),
    );
  }

  async mediaReferences(hash: string, limit: number): Promise<MediaReference[]> {
    return this.q.mediaReferences.all(hash, limit);
  }

  // Users

  async getUsers(userIds: string[]): Promise<UserDoc[]> {
    if (userIds.length === 0) return [];
    const placeholders = userIds.map(() => '?').join(', ');
    return parseDocs(this.db.prepare(`SELECT doc FROM ${this.t.users} WHERE user_id IN (${placeholders})`).all(...userIds));
  }

  // Inbox

  async listInbox(userId: string, afterUserSeq: number, limit: number): Promise<InboxEntry[]> {
    return this.q.inbox.all(userId, afterUserSeq, limit).map((r) => ({ userId, userSeq: r.user_seq, ...JSON.parse(r.doc) }));
  }

  // Contacts and last seen

  async listContacts(userId: string, maxGroupSize: number): Promise<string[]> {
    return this.q.contacts.all(userId, maxGroupSize).map((r) => r.userId);
  }

  async sharesConversation(userId: string, otherId: string): Promise<boolean> {
    return this.q.shares.get(otherId, userId) !== undefined;
  }

  async saveLastSeen(times: Record<string, string>): Promise<void> {
    this.db.transaction(() => {
      for (const [userId, at] of Object.entries(times)) this.q.saveLastSeen.run(userId, at);
    })();
  }

  async getLastSeen(userIds: string[]): Promise<Record<string, string>> {
    if (userIds.length === 0) return {};
    const placeholders = userIds.map(() => '?').join(', ');
    const rows = this.db.prepare(`SELECT user_id, at FROM ${LAST_SEEN} WHERE user_id IN (${placeholders})`).all(...userIds) as {
      user_id: string;
      at: string;
    }[];
    return Object.fromEntries(rows.map((r) => [r.user_id, r.at]));
  }

  // Analytics

  async recordMessageFacts(facts: MessageFact[]): Promise<void> {
    const insert = this.db.prepare(
      `INSERT OR IGNORE INTO ${ANALYTICS} (event_id, conversation_id, sender_id, hour, day) VALUES (?, ?, ?, ?, ?)`,
    );
    const record = this.db.transaction(() => {
      for (const f of facts) insert.run(f.eventId, f.conversationId, f.senderId, hourOf(f.at), dayOf(f.at));
    });
    commitWithoutFsync(this.db, record);
  }

  async analytics({ since, limit }: AnalyticsQuery): Promise<AnalyticsReport> {
    const hour = hourOf(since);
    const all = <T>(sql: string) => this.db.prepare(sql).all(hour) as T[];
    return orderReport(
      {
        messagesPerHour: all(
          `SELECT conversation_id AS conversationId, hour, COUNT(*) AS messages FROM ${ANALYTICS} WHERE hour >= ? GROUP BY conversation_id, hour`,
        ),
        dailyActiveSenders: all(`SELECT day, COUNT(DISTINCT sender_id) AS senders FROM ${ANALYTICS} WHERE hour >= ? GROUP BY day`),
        busiestConversations: all(
          `SELECT conversation_id AS conversationId, COUNT(*) AS messages FROM ${ANALYTICS} WHERE hour >= ? GROUP BY conversation_id`,
        ),
      },
      limit,
    );
  }

  // Whole store

  async dump(): Promise<Record<string, unknown[]>> {
    const out: Record<string, unknown[]> = {};
    for (const collection of collections) {
      const table = this.t[collection];
      const order = collectionKeys[collection].map(column).join(', ');
      out[collection] = (this.db.prepare(`SELECT pos, doc FROM ${table} ORDER BY ${order}`).all() as DocRow[]).map(
        (r) => ({ _pos: r.pos, ...JSON.parse(r.doc) }),
      );
    }
    out.inbox = (this.db.prepare(`SELECT * FROM ${this.t.inbox} ORDER BY user_id, user_seq`).all() as (DocRow & { user_id: string; user_seq: number })[]).map(
      (r) => ({ userId: r.user_id, userSeq: r.user_seq, _pos: r.pos, ...JSON.parse(r.doc) }),
    );
    return out;
  }

  async close(): Promise<void> {}
}

function parseDoc<T>(row: unknown): T | null {
  return row ? (JSON.parse((row as { doc: string }).doc) as T) : null;
}

function parseDocs<T>(rows: unknown[]): T[] {
  return rows.map((r) => JSON.parse((r as { doc: string }).doc) as T);
}
