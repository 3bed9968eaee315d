import type { Statement, Transaction } from 'better-sqlite3';
import type { SqliteDatabase } from '../db/sqlite.js';
import { WrongExpectedRevision } from '../domain/errors.js';
import type { EventMetadata } from '../domain/events.js';
import { appendAt } from './appendAt.js';
import { assertAppendable } from './appendInput.js';
import { MAX_APPEND_BYTES } from './appendSize.js';
import { satisfiesExpected, type ExpectedRevision } from './expectedRevision.js';
import { subscriptionLoop } from './subscriptionLoop.js';
import type {
  AppendAtOutcome,
  AppendResult,
  EventStore,
  EventStoreStats,
  EventToAppend,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from './port.js';

interface PendingAppend {
  streamId: string;
  events: EventToAppend[];
  expected: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

interface EventRow {
  position: number;
  stream_id: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
}

/**
 * Other processes append to the same file too (a second app instance, the operator CLI), and SQLite
 * tells nobody. While a live reader waits, `PRAGMA data_version` (changed by another connection's
 * commit; it reads shared memory, no disk) is checked this often, so their appends reach this
 * process's readers within about this time. Idle costs nothing: no reader waiting, no check.
 */
const OTHER_WRITERS_CHECK_MS = 20;

/**
 * Event store on SQLite. Appends made in the same event-loop turn are committed together in one
 * transaction (group commit): one fsync for the whole group, and each append still gets its own
 * expected-revision check and its own outcome through a savepoint.
 */
export class SqliteEventStore implements EventStore, EventStoreStats {
  /** SQLite itself would take more; EventStoreDB's bound keeps writers' batches the same on both stores. */
  readonly maxAppendBytes = MAX_APPEND_BYTES;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private commitWaiters: (() => void)[] = [];
  private otherWritersCheck: NodeJS.Timeout | null = null;
  /**
   * The data version at the last check, kept while no reader waits: a reader that found nothing new
   * and then waits is woken by any commit after that check, including one that landed in between.
   */
  private checkedDataVersion = 0;
  private readonly stmt: {
    lastRevision: Statement<[string], { revision: number | null }>;
    byEventId: Statement<[string], { stream_id: string; revision: number; position: number }>;
    insert: Statement<[string, number, string, string, string, string]>;
    readStream: Statement<[string, number, number], EventRow>;
    readAll: Statement<[number, number], EventRow>;
    readAllFrom: Statement<[number, number], EventRow>;
    countAfter: Statement<[number, number], { n: number }>;
    head: Statement<[], { position: number | null }>;
    countByType: Statement<[], { type: string; n: number }>;
    dataVersion: Statement<[], number>;
  };
  private readonly commitGroup: Transaction<(group: PendingAppend[]) => (AppendResult | Error)[]>;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        stream_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        event_id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        UNIQUE (stream_id, revision)
      );
    `);
    this.stmt = {
      lastRevision: db.prepare('SELECT MAX(revision) AS revision FROM events WHERE stream_id = ?'),
      byEventId: db.prepare('SELECT stream_id, revision, position FROM events WHERE event_id = ?'),
      insert: db.prepare(
        'INSERT INTO events (stream_id, revision, event_id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      readStream: db.prepare(
        'SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?',
      ),
      readAll: db.prepare('SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?'),
      readAllFrom: db.prepare('SELECT * FROM events WHERE position >= ? ORDER BY position LIMIT ?'),
      // The LIMIT inside bounds the scan of the primary key, not only the answer.
      countAfter: db.prepare('SELECT COUNT(*) AS n FROM (SELECT 1 FROM events WHERE position > ? LIMIT ?)'),
      head: db.prepare('SELECT MAX(position) AS position FROM events'),
      countByType: db.prepare('SELECT type, COUNT(*) AS n FROM events GROUP BY type ORDER BY type'),
      dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    };
    this.checkedDataVersion = this.stmt.dataVersion.get()!;
    const appendOne = db.transaction((p: PendingAppend) => this.appendNow(p));
    this.commitGroup = db.transaction((group: PendingAppend[]) =>
      group.map((p) => {
        try {
          return appendOne(p);
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error));
        }
      }),
    );
  }

  async append(streamId: string, events: EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    assertAppendable(events, expected);
    return new Promise((resolve, reject) => {
      this.pending.push({ streamId, events, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  appendAt(streamId: string, revision: number, event: EventToAppend): Promise<AppendAtOutcome> {
    return appendAt(this, streamId, revision, event);
  }

  private flush(): void {
    this.flushScheduled = false;
    const group = this.pending;
    this.pending = [];
    let outcomes: (AppendResult | Error)[];
    try {
      // IMMEDIATE takes the write lock up front (waiting out busy_timeout for another process,
      // such as the operator CLI): a deferred transaction that reads first could fail outright.
      outcomes = this.commitGroup.immediate(group);
    } catch (error) {
      for (const p of group) p.reject(error);
      return;
    }
    // Only now, after COMMIT returned (and fsynced), is any append acknowledged.
    group.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (outcome instanceof Error) p.reject(outcome);
      else p.resolve(outcome);
    });
    this.notifyCommit();
  }

  private appendNow({ streamId, events, expected }: PendingAppend): AppendResult {
    const repeated = this.alreadyAppended(streamId, events);
    if (repeated) return repeated;
    const current = this.stmt.lastRevision.get(streamId)?.revision ?? -1;
    if (!satisfiesExpected(expected, current)) throw new WrongExpectedRevision(streamId, expected, current);
    let revision = current;
    let position = 0;
    for (const e of events) {
      revision += 1;
      const info = this.stmt.insert.run(
        streamId,
        revision,
        e.metadata.eventId,
        e.type,
        JSON.stringify(e.data),
        JSON.stringify(e.metadata),
      );
      position = Number(info.lastInsertRowid);
    }
    return { nextExpectedRevision: revision, position };
  }

  /** A retried append (same event ids, same stream, same order) returns the original result. */
  private alreadyAppended(streamId: string, events: EventToAppend[]): AppendResult | null {
    const first = this.stmt.byEventId.get(events[0]!.metadata.eventId);
    if (!first) {
      if (events.some((e) => this.stmt.byEventId.get(e.metadata.eventId))) {
        throw new WrongExpectedRevision(streamId, 'events partly appended before', -1);
      }
      return null;
    }
    let last = first;
    for (const [i, e] of events.entries()) {
      const row = this.stmt.byEventId.get(e.metadata.eventId);
      if (!row || row.stream_id !== streamId || row.revision !== first.revision + i || first.stream_id !== streamId) {
        throw new WrongExpectedRevision(streamId, 'a different batch with the same event ids', first.revision);
      }
      last = row;
    }
    return { nextExpectedRevision: last.revision, position: last.position };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return this.readStreamSync(streamId, options);
  }

  readStreamSync(streamId: string, { fromRevision = 0, maxCount = Number.MAX_SAFE_INTEGER }: ReadStreamOptions = {}) {
    return this.stmt.readStream.all(streamId, fromRevision, maxCount).map(toRecorded);
  }

  async readAll(after: number, maxCount: number): Promise<RecordedEvent[]> {
    return this.stmt.readAll.all(after, maxCount).map(toRecorded);
  }

  async readAllFrom(from: number, maxCount: number): Promise<RecordedEvent[]> {
    return this.stmt.readAllFrom.all(from, maxCount).map(toRecorded);
  }

  async countAfter(after: number, limit: number): Promise<number> {
    return this.stmt.countAfter.get(after, limit)?.n ?? 0;
  }

  async headPosition(): Promise<number> {
    return this.stmt.head.get()?.position ?? 0;
  }

  async countByType(): Promise<Record<string, number>> {
    return Object.fromEntries(this.stmt.countByType.all().map((r) => [r.type, r.n]));
  }

  subscribeAll(options: SubscribeOptions, handler: (batch: RecordedEvent[]) => Promise<void> | void): Subscription {
    return subscriptionLoop({
      after: options.after,
      onError: options.onError,
      read: (after) => this.readAll(after, 1000),
      waitForMore: (closing) => this.nextCommit(closing),
      handler,
    });
  }

  private nextCommit(closing: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        closing.removeEventListener('abort', done);
        this.commitWaiters = this.commitWaiters.filter((w) => w !== done);
        // The last reader gone (its subscription closed): nobody waits, so nothing is checked.
        if (this.commitWaiters.length === 0) this.stopCheckingOtherWriters();
        resolve();
      };
      closing.addEventListener('abort', done);
      this.commitWaiters.push(done);
      this.otherWritersCheck ??= setInterval(() => this.checkOtherWriters(), OTHER_WRITERS_CHECK_MS);
    });
  }

  private stopCheckingOtherWriters(): void {
    if (this.otherWritersCheck) clearInterval(this.otherWritersCheck);
    this.otherWritersCheck = null;
  }

  private checkOtherWriters(): void {
    const version = this.stmt.dataVersion.get()!;
    if (version === this.checkedDataVersion) return;
    this.checkedDataVersion = version;
    this.notifyCommit();
  }

  private notifyCommit(): void {
    const waiters = this.commitWaiters;
    this.commitWaiters = [];
    this.stopCheckingOtherWriters();
    for (const w of waiters) w();
  }

  async close(): Promise<void> {
    this.notifyCommit();
  }
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    streamId: row.stream_id,
    revision: row.revision,
    position: row.position,
    type: row.type,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata) as EventMetadata,
  };
}
