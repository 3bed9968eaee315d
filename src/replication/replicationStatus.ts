import type { Db } from 'mongodb';
import type { SqliteDatabase } from '../db/sqlite.js';

/** A stream that stopped replicating here: a different event at a revision, or a gap its home could not fill. */
export interface HaltedStream {
  streamId: string;
  revision: number;
  sourceDc: string;
  reason: 'diverged' | 'gap';
  /** The event that could not be applied. */
  eventId: string;
  /** For `diverged`: the event already stored at that revision. */
  foundEventId: string | null;
  at: string;
}

/** How far this DC has applied each other DC's events (for `im status`). */
export interface SourceProgress {
  sourceDc: string;
  /** When the last applied event was written at its origin, and when it was applied here. */
  lastEventAt: string;
  appliedAt: string;
}

/**
 * What the sync consumer keeps next to the read models: halted streams survive a restart (they stay
 * halted until an operator repairs them) and, with the progress per source, show in `im status`.
 */
export interface ReplicationStatusStore {
  halt(stream: HaltedStream): Promise<void>;
  halted(): Promise<HaltedStream[]>;
  progress(entry: SourceProgress): Promise<void>;
  sources(): Promise<SourceProgress[]>;
}

export class SqliteReplicationStatus implements ReplicationStatusStore {
  private readonly q;

  constructor(db: SqliteDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS replication_halted (stream_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS replication_sources (source_dc TEXT PRIMARY KEY, doc TEXT NOT NULL);`);
    this.q = {
      halt: db.prepare('INSERT OR IGNORE INTO replication_halted (stream_id, doc) VALUES (?, ?)'),
      halted: db.prepare('SELECT doc FROM replication_halted ORDER BY stream_id').pluck(),
      progress: db.prepare('INSERT OR REPLACE INTO replication_sources (source_dc, doc) VALUES (?, ?)'),
      sources: db.prepare('SELECT doc FROM replication_sources ORDER BY source_dc').pluck(),
    };
  }

  async halt(stream: HaltedStream): Promise<void> {
    this.q.halt.run(stream.streamId, JSON.stringify(stream));
  }

  async halted(): Promise<HaltedStream[]> {
    return (this.q.halted.all() as string[]).map((doc) => JSON.parse(doc) as HaltedStream);
  }

  async progress(entry: SourceProgress): Promise<void> {
    this.q.progress.run(entry.sourceDc, JSON.stringify(entry));
  }

  async sources(): Promise<SourceProgress[]> {
    return (this.q.sources.all() as string[]).map((doc) => JSON.parse(doc) as SourceProgress);
  }
}

export class MongoReplicationStatus implements ReplicationStatusStore {
  constructor(private readonly db: Db) {}

  private get haltedStreams() {
    return this.db.collection<HaltedStream & { _id: string }>('replication_halted');
  }

  private get sourceProgress() {
    return this.db.collection<SourceProgress & { _id: string }>('replication_sources');
  }

  async halt(stream: HaltedStream): Promise<void> {
    // The first halt of a stream is the one worth keeping: what stopped it.
    await this.haltedStreams.updateOne({ _id: stream.streamId }, { $setOnInsert: stream }, { upsert: true });
  }

  async halted(): Promise<HaltedStream[]> {
    return (await this.haltedStreams.find({}, { projection: { _id: 0 } }).sort({ streamId: 1 }).toArray()) as HaltedStream[];
  }

  async progress(entry: SourceProgress): Promise<void> {
    await this.sourceProgress.updateOne({ _id: entry.sourceDc }, { $set: entry }, { upsert: true });
  }

  async sources(): Promise<SourceProgress[]> {
    return (await this.sourceProgress.find({}, { projection: { _id: 0 } }).sort({ sourceDc: 1 }).toArray()) as SourceProgress[];
  }
}
