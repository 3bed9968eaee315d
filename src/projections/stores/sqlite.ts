import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from '../../db/sqlite.js';
import {
  collectionKeys,
  type Collection,
  type ConversationDoc,
  type ConversationListItem,
  type InboxEntry,
  type MessageDoc,
  type UserConversationDoc,
  type UserDoc,
  type Write,
  type WriteBatch,
} from '../model.js';
import { dayOf, hourOf, orderReport } from '../analytics.js';
import type { AnalyticsQuery, AnalyticsReport, ListOptions, MessageFact, MessageRange, ReadStore } from '../readStore.js';

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
  {
    kind: 'messages',
    name: 'rm_messages_by_client_id',
    on: `(conversation_id, json_extract(doc, '$.senderId'), json_extract(doc, '$.clientMsgId'))`,
  },
  { kind: 'users', name: 'rm_users_by_username', on: `(json_extract(doc, '$.username'))` },
];

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

/** A document as the current batch has left it, written once when the batch commits. */
interface PendingDoc {
  collection: Collection;
  keyValues: unknown[];
  pos: number;
  doc: Record<string, unknown> | null;
  dirty: boolean;
}

/**
 * Read models in the embedded SQLite file. Documents are JSON with their key fields as columns;
 * a batch of writes and the projections' checkpoints commit in one transaction, so a crash leaves
 * either both or neither. `tables` selects the copy: the live tables, or a rebuild's shadow ones.
 */
export class SqliteReadStore implements ReadStore {
  private readonly upsertStmts: Record<Collection, { get: Statement; put: Statement }>;
  private readonly inboxStmts: { max: Statement<[string], { s: number | null }>; insert: Statement };
  /** Next userSeq per user, valid only while no other connection has written (see apply). */
  private readonly userSeqs = new Map<string, number>();
  private dataVersion: number | null = null;
  private inboxDoc: { position: number; json: string } | null = null;
  private readonly applyTx: (batch: WriteBatch) => void;
  private readonly q: Record<string, Statement>;

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
        PRIMARY KEY (user_id, user_seq), UNIQUE (user_id, pos));
      CREATE TABLE IF NOT EXISTS ${t.checkpoints} (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS ${ANALYTICS} (
        event_id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, sender_id TEXT NOT NULL, hour TEXT NOT NULL, day TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS rm_analytics_by_hour ON ${ANALYTICS} (hour);
      CREATE TABLE IF NOT EXISTS ${LAST_SEEN} (user_id TEXT PRIMARY KEY, at TEXT NOT NULL);
    `);
    for (const index of secondaryIndexes) ensureIndex(db, t[index.kind], index.name, index.on);
    this.upsertStmts = Object.fromEntries(
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
      max: db.prepare(`SELECT MAX(user_seq) AS s FROM ${t.inbox} WHERE user_id = ?`),
      insert: db.prepare(`INSERT INTO ${t.inbox} (user_id, user_seq, pos, doc) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, pos) DO NOTHING`),
    };
    // Checkpoints only move forward: a rebuild may have moved one past this writer's batch.
    const saveCheckpoint = db.prepare(
      `INSERT INTO ${t.checkpoints} (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = MAX(position, excluded.position)`,
    );
    const tx = db.transaction((batch: WriteBatch) => {
      this.forgetUserSeqsIfOthersWrote();
      const stored = this.storedCheckpoints();
      // Documents are read and merged in memory and each is written once per batch: a busy
      // conversation's 1,000 events in a page cost one row write per member, not 1,000.
      const docs = new Map<string, PendingDoc>();
      for (const { projection, position, write } of batch.writes) {
        if (batch.reapply || position > (stored[projection] ?? 0)) this.applyWrite(position, write, docs);
      }
      for (const d of docs.values()) if (d.dirty) this.upsertStmts[d.collection].put.run(...d.keyValues, d.pos, JSON.stringify(d.doc));
      for (const [name, position] of Object.entries(batch.checkpoints)) saveCheckpoint.run(name, position);
    });
    this.applyTx = (batch) => {
      try {
        // IMMEDIATE: the checkpoints read above must still hold when the writes land, even with
        // another process (the operator CLI) writing to the same file.
        tx.immediate(batch);
      } catch (error) {
        // The cached inbox counters may have moved inside the rolled-back transaction.
        this.userSeqs.clear();
        throw error;
      }
    };
    const activity = `COALESCE(json_extract(uc.doc, '$.frozen.lastActivityAt'), json_extract(c.doc, '$.lastActivityAt'))`;
    const pinned = `json_extract(uc.doc, '$.pinned')`;
    const listSql = (cursor: boolean, archived: boolean) => `
      SELECT uc.doc AS uc, c.doc AS c, uc.pos AS ucPos, c.pos AS cPos, ${pinned} AS pinned, ${activity} AS activity
      FROM ${t.userConversations} uc JOIN ${t.conversations} c ON c.conversation_id = uc.conversation_id
      WHERE uc.user_id = @userId
      ${archived ? `AND json_extract(uc.doc, '$.archived') = @archived` : ''}
      ${cursor ? `AND (${pinned} < @pinned OR (${pinned} = @pinned AND (${activity} < @activity OR (${activity} = @activity AND uc.conversation_id < @conversationId))))` : ''}
      ORDER BY pinned DESC, activity DESC, uc.conversation_id DESC LIMIT @limit`;
    this.q = {
      conversation: db.prepare(`SELECT doc FROM ${t.conversations} WHERE conversation_id = ?`),
      members: db.prepare(
        `SELECT doc FROM ${t.userConversations} WHERE conversation_id = ? AND json_extract(doc, '$.leftSeq') IS NULL ORDER BY user_id`,
      ),
      list: db.prepare(listSql(false, false)),
      listCursor: db.prepare(listSql(true, false)),
      listArchived: db.prepare(listSql(false, true)),
      listArchivedCursor: db.prepare(listSql(true, true)),
      messagesForward: db.prepare(
        `SELECT doc FROM ${t.messages} WHERE conversation_id = ? AND seq > ? AND seq < ? AND seq <= ? ORDER BY seq LIMIT ?`,
      ),
      messagesBackward: db.prepare(
        `SELECT doc FROM ${t.messages} WHERE conversation_id = ? AND seq < ? AND seq <= ? ORDER BY seq DESC LIMIT ?`,
      ),
      messageByClientId: db.prepare(
        `SELECT doc FROM ${t.messages} WHERE conversation_id = ? AND json_extract(doc, '$.senderId') = ? AND json_extract(doc, '$.clientMsgId') = ?`,
      ),
      inbox: db.prepare(`SELECT user_seq, doc FROM ${t.inbox} WHERE user_id = ? AND user_seq > ? ORDER BY user_seq LIMIT ?`),
      checkpoints: db.prepare(`SELECT name, position FROM ${t.checkpoints}`),
      contacts: db.prepare(`
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

  /**
   * Another connection (the operator CLI replaying events or swapping a rebuilt inbox in) may have
   * changed the inbox behind the cached counters; SQLite's data_version tells, cheaply.
   */
  private forgetUserSeqsIfOthersWrote(): void {
    const version = this.db.pragma('data_version', { simple: true }) as number;
    if (version !== this.dataVersion) this.userSeqs.clear();
    this.dataVersion = version;
  }

  private storedCheckpoints(): Record<string, number> {
    const rows = this.q.checkpoints!.all() as { name: string; position: number }[];
    return Object.fromEntries(rows.map((r) => [r.name, r.position]));
  }

  async apply(batch: WriteBatch): Promise<void> {
    this.applyTx(batch);
  }

  private applyWrite(position: number, write: Write, docs: Map<string, PendingDoc>): void {
    if (write.kind === 'inbox') {
      const { userId, ...entry } = write.entry;
      // One event fans out the same entry to every recipient: serialise it once.
      if (this.inboxDoc?.position !== position) this.inboxDoc = { position, json: JSON.stringify(entry) };
      const next = this.nextUserSeq(userId);
      const info = this.inboxStmts.insert.run(userId, next, position, this.inboxDoc.json);
      if (info.changes === 1) this.userSeqs.set(userId, next);
      return;
    }
    const keyValues = collectionKeys[write.collection].map((k) => (write.key as Record<string, unknown>)[k]);
    const id = `${write.collection}\u0000${keyValues.join('\u0000')}`;
    let pending = docs.get(id);
    if (!pending) {
      const row = this.upsertStmts[write.collection].get.get(...keyValues) as DocRow | undefined;
      pending = { collection: write.collection, keyValues, pos: row?.pos ?? -1, doc: row ? JSON.parse(row.doc) : null, dirty: false };
      docs.set(id, pending);
    }
    if (pending.doc !== null && pending.pos >= position) return;
    pending.doc = pending.doc ? { ...pending.doc, ...write.set } : { ...write.key, ...write.setOnInsert, ...write.set };
    pending.pos = position;
    pending.dirty = true;
  }

  private nextUserSeq(userId: string): number {
    let current = this.userSeqs.get(userId);
    if (current === undefined) {
      current = this.inboxStmts.max.get(userId)?.s ?? 0;
      this.userSeqs.set(userId, current);
    }
    return current + 1;
  }

  async checkpoints(): Promise<Record<string, number>> {
    return this.storedCheckpoints();
  }

  async getConversation(conversationId: string): Promise<ConversationDoc | null> {
    return parseDoc(this.q.conversation!.get(conversationId));
  }

  async listMembers(conversationId: string): Promise<UserConversationDoc[]> {
    return parseDocs(this.q.members!.all(conversationId));
  }

  async listConversations(userId: string, { limit, cursor, archived }: ListOptions): Promise<ConversationListItem[]> {
    const params: Record<string, unknown> = { userId, limit };
    if (archived !== undefined) params.archived = archived ? 1 : 0;
    if (cursor) Object.assign(params, { pinned: cursor.pinned ? 1 : 0, activity: cursor.lastActivityAt, conversationId: cursor.conversationId });
    const stmt = archived === undefined ? (cursor ? this.q.listCursor : this.q.list) : cursor ? this.q.listArchivedCursor : this.q.listArchived;
    const rows = stmt!.all(params) as { uc: string; c: string }[];
    return rows.map((r) => ({ conversation: JSON.parse(r.c), membership: JSON.parse(r.uc) }));
  }

  async listMessages(conversationId: string, { afterSeq, beforeSeq, maxSeq, limit }: MessageRange): Promise<MessageDoc[]> {
    if (afterSeq === undefined && beforeSeq !== undefined) {
      return parseDocs<MessageDoc>(this.q.messagesBackward!.all(conversationId, beforeSeq, maxSeq, limit)).reverse();
    }
    return parseDocs(
      this.q.messagesForward!.all(conversationId, afterSeq ?? -1, beforeSeq ?? Number.MAX_SAFE_INTEGER, maxSeq, limit),
    );
  }

  async findMessageByClientMsgId(conversationId: string, senderId: string, clientMsgId: string): Promise<MessageDoc | null> {
    return parseDoc(this.q.messageByClientId!.get(conversationId, senderId, clientMsgId));
  }

  async listInbox(userId: string, afterUserSeq: number, limit: number): Promise<InboxEntry[]> {
    const rows = this.q.inbox!.all(userId, afterUserSeq, limit) as { user_seq: number; doc: string }[];
    return rows.map((r) => ({ userId, userSeq: r.user_seq, ...JSON.parse(r.doc) }));
  }

  async getUsers(userIds: string[]): Promise<UserDoc[]> {
    if (userIds.length === 0) return [];
    const placeholders = userIds.map(() => '?').join(', ');
    return parseDocs(this.db.prepare(`SELECT doc FROM ${this.t.users} WHERE user_id IN (${placeholders})`).all(...userIds));
  }

  async recordMessageFacts(facts: MessageFact[]): Promise<void> {
    const insert = this.db.prepare(
      `INSERT OR IGNORE INTO ${ANALYTICS} (event_id, conversation_id, sender_id, hour, day) VALUES (?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const f of facts) insert.run(f.eventId, f.conversationId, f.senderId, hourOf(f.at), dayOf(f.at));
    })();
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

  async listContacts(userId: string, maxGroupSize: number): Promise<string[]> {
    return (this.q.contacts!.all(userId, maxGroupSize) as { userId: string }[]).map((r) => r.userId);
  }

  async sharesConversation(userId: string, otherId: string): Promise<boolean> {
    return this.q.shares!.get(otherId, userId) !== undefined;
  }

  async saveLastSeen(times: Record<string, string>): Promise<void> {
    this.db.transaction(() => {
      for (const [userId, at] of Object.entries(times)) this.q.saveLastSeen!.run(userId, at);
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
