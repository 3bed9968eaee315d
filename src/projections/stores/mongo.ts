import { isDeepStrictEqual } from 'node:util';
import { MongoBulkWriteError, MongoClient, type Collection as MongoCollection, type Db, type Document } from 'mongodb';
import {
  collectionKeys,
  type Collection,
  type ConversationDoc,
  type ConversationListItem,
  type InboxEntry,
  type MessageDoc,
  type UserConversationDoc,
  type UserDoc,
  type WriteBatch,
} from '../model.js';
import { assertHoldsMongoLease, MongoLeaseStore, type FencingToken } from '../../lease/index.js';
import { dayOf, hourOf, orderReport } from '../analytics.js';
import type { AnalyticsQuery, AnalyticsReport, ListOptions, MediaReference, MessageFact, MessageRange, ReadStoreAdapter } from '../ports.js';
import { isListed } from '../listing.js';
import { scrubs, type Owner } from '../scrub.js';
import { compareRanks, rankOf } from '../ranking.js';
import {
  docId,
  foldDocument,
  inboxUsers,
  numberInboxEntries,
  scrubsOf,
  upsertsByDocument,
  writesToApply,
  type DocumentWrites,
  type InboxCounter,
  type NumberedInboxEntry,
  type ScrubOrder,
} from '../writeFold.js';

export type CollectionKind = Collection | 'inbox' | 'inboxCounters' | 'checkpoints';

/** The collection names of one copy of the read models: the live one, or a rebuild's shadow copy. */
export type ReadModelCollections = Record<CollectionKind, string>;

export const liveCollections: ReadModelCollections = {
  conversations: 'conversations',
  userConversations: 'user_conversations',
  messages: 'messages',
  users: 'users',
  inbox: 'inbox',
  inboxCounters: 'inbox_counters',
  checkpoints: 'checkpoints',
};
const documentCollections = ['conversations', 'userConversations', 'messages', 'users'] as const satisfies Collection[];

export const collectionsWithSuffix = (suffix: string): ReadModelCollections =>
  Object.fromEntries(Object.entries(liveCollections).map(([kind, name]) => [kind, name + suffix])) as ReadModelCollections;

/** Which projection owns which collections, so a rebuild of one replaces only its own. */
export const collectionsOfProjection: Record<string, CollectionKind[]> = {
  conversations: ['conversations'],
  userConversations: ['userConversations'],
  messages: ['messages'],
  users: ['users'],
  inbox: ['inbox', 'inboxCounters'],
};

const ANALYTICS = 'analytics_messages';
/** Not a projection: written by the gateway's presence tracker, so rebuilds leave it alone. */
const LAST_SEEN = 'presence_last_seen';

const DUPLICATE_KEY = 11000;

type Stored = Document & { _id: string; _pos: number };

/**
 * Read models in MongoDB, without multi-document transactions. Every document records the position
 * of the last event applied to it (`_pos`), every write is conditional on that position being older,
 * and the checkpoints are written after the documents. A crash in between re-applies the batch, and
 * the positions make that harmless; so they do for two writers applying batches at once.
 */
export class MongoReadStore implements ReadStoreAdapter {
  private constructor(
    private readonly client: MongoClient,
    /** The database; rebuilds rename collections in it. */
    readonly db: Db,
    /** Which copy of the read models this store reads and writes. */
    private readonly names: ReadModelCollections,
    /** A shadow copy shares the live store's client, which only the live store closes. */
    private readonly ownsClient: boolean,
  ) {}

  static async connect(url: string, dbName?: string): Promise<MongoReadStore> {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000, retryWrites: true });
    await client.connect();
    const store = new MongoReadStore(client, client.db(dbName), liveCollections, true);
    await store.createIndexes();
    return store;
  }

  /** Another copy of the read models in the same database (a rebuild's shadow copy), on this client. */
  async copy(names: ReadModelCollections): Promise<MongoReadStore> {
    const store = new MongoReadStore(this.client, this.db, names, false);
    await store.createIndexes();
    return store;
  }

  /** Leases next to the read models, which check the fencing tokens of their writers against them. */
  leases(): MongoLeaseStore {
    return new MongoLeaseStore(this.db);
  }

  private coll(name: string): MongoCollection<Stored> {
    return this.db.collection<Stored>(name);
  }

  private async createIndexes(): Promise<void> {
    // Unique keys where a document is identified by user + conversation, conversation + seq, user + userSeq.
    await this.coll(this.names.userConversations).createIndex({ userId: 1, conversationId: 1 }, { unique: true });
    await this.coll(this.names.userConversations).createIndex({ conversationId: 1, userId: 1 });
    await this.coll(this.names.messages).createIndex({ conversationId: 1, seq: 1 }, { unique: true });
    await this.coll(this.names.messages).createIndex({ 'media.hash': 1 });
    await this.coll(this.names.inbox).createIndex({ userId: 1, userSeq: 1 }, { unique: true });
    await this.coll(this.names.inbox).createIndex({ userId: 1, _pos: 1 }, { unique: true });
    await this.coll(ANALYTICS).createIndex({ hour: 1 });
  }

  // Projections

  async apply(batch: WriteBatch, fence?: FencingToken): Promise<void> {
    if (fence) await assertHoldsMongoLease(this.db, fence);
    const writes = writesToApply(batch, batch.reapply ? {} : await this.checkpoints());
    await this.applyUpserts(writes);
    await this.applyInbox(writes);
    for (const order of scrubsOf(writes)) await this.applyScrub(order);
    const checkpoints = Object.entries(batch.checkpoints);
    if (checkpoints.length === 0) return;
    await this.coll(this.names.checkpoints).bulkWrite(
      checkpoints.map(([name, position]) => ({
        updateOne: { filter: { _id: name }, update: { $max: { position } }, upsert: true },
      })),
    );
  }

  async checkpoints(): Promise<Record<string, number>> {
    const docs = await this.coll(this.names.checkpoints).find({}).toArray();
    return Object.fromEntries(docs.map((d) => [d._id, d.position as number]));
  }

  /**
   * One write per document of the batch, folded against the positions read here. Another writer
   * (an old instance that paused mid-batch) may write between that read and these writes, so
   * every write is also guarded by position in the store (see writeOverOlder).
   */
  private async applyUpserts(writes: WriteBatch['writes']): Promise<void> {
    const byCollection = new Map<Collection, DocumentWrites[]>();
    for (const doc of upsertsByDocument(writes)) {
      const docs = byCollection.get(doc.collection) ?? [];
      docs.push(doc);
      byCollection.set(doc.collection, docs);
    }
    for (const [collection, docs] of byCollection) {
      const coll = this.coll(this.names[collection]);
      const stored = new Map(
        (await coll.find({ _id: { $in: docs.map((d) => d.id) } }, { projection: { _pos: 1 } }).toArray()).map((d) => [d._id, d._pos]),
      );
      const positioned = docs.flatMap((doc): PositionedDoc[] => {
        const storedPosition = stored.get(doc.id);
        const folded = foldDocument(doc, storedPosition);
        if (!folded) return [];
        const { key, setOnInsert, set, position } = folded;
        return [{ id: doc.id, position, set, onInsert: { ...key, ...setOnInsert }, exists: storedPosition !== undefined }];
      });
      await writeOverOlder(coll, positioned);
    }
  }

  /**
   * userSeqs come from a per-user counter that moves only after the entries are stored, so a
   * retried batch computes the same userSeqs and its inserts are duplicates of stored entries. Two
   * writers that disagree on a user's inbox (different pull thresholds during a roll-out) race for
   * the same userSeqs instead: the unique indexes keep one entry per userSeq and per position, and
   * the losing writer numbers its entries again after the user's newest stored entry, dropping
   * only those that are older than it (appending them would break the order of the inbox).
   */
  private async applyInbox(writes: WriteBatch['writes']): Promise<void> {
    const userIds = inboxUsers(writes);
    if (userIds.length === 0) return;
    const counterDocs = await this.coll(this.names.inboxCounters).find({ _id: { $in: userIds } }).toArray();
    const existingCounters = new Set(counterDocs.map((c) => c._id));
    let stored = new Map<string, InboxCounter>(counterDocs.map((c) => [c._id, { userSeq: c.seq as number, position: c._pos }]));
    let pending = writes;
    const reached = new Map<string, InboxCounter>();
    for (;;) {
      const { entries, counters } = numberInboxEntries(pending, stored);
      const contested = entries.length ? await this.insertInboxEntries(entries) : new Set<string>();
      for (const [userId, counter] of counters) if (!contested.has(userId)) reached.set(userId, counter);
      if (contested.size === 0) break;
      pending = pending.filter(({ write }) => write.kind === 'inbox' && contested.has(write.entry.userId));
      stored = await this.newestInboxEntries([...contested]);
      for (const [userId, newest] of stored) reached.set(userId, newest);
    }
    await writeOverOlder(
      this.coll(this.names.inboxCounters),
      [...reached].map(([userId, c]) => ({ id: userId, position: c.position, set: { seq: c.userSeq }, onInsert: {}, exists: existingCounters.has(userId) })),
    );
  }

  /** Inserts the entries; answers the users for whom another writer took a userSeq or position first. */
  private async insertInboxEntries(entries: NumberedInboxEntry[]): Promise<Set<string>> {
    const inbox = this.coll(this.names.inbox);
    const docs = entries.map(({ entry, position }) => ({ _id: JSON.stringify([entry.userId, entry.userSeq]), ...entry, _pos: position }));
    const rejected = (await duplicatesRejected(inbox.insertMany(docs, { ordered: false }))).map((i) => docs[i]!);
    if (rejected.length === 0) return new Set();
    // The same entry under the same userSeq is a retry, not a race.
    const held = new Map(
      (await inbox.find({ _id: { $in: rejected.map((d) => d._id) } }, { projection: { _pos: 1 } }).toArray()).map((d) => [d._id, d._pos]),
    );
    return new Set(rejected.filter((d) => held.get(d._id) !== d._pos).map((d) => d.userId));
  }

  /**
   * The newest userSeq and position in each user's inbox, read from the entries: after a race the
   * counters may not have caught up with them yet.
   */
  private async newestInboxEntries(userIds: string[]): Promise<Map<string, InboxCounter>> {
    const inbox = this.coll(this.names.inbox);
    const newest = async (userId: string, field: 'userSeq' | '_pos') =>
      (await inbox.find({ userId }, { projection: { [field]: 1 } }).sort({ [field]: -1 }).limit(1).next())?.[field] ?? 0;
    const tails = new Map<string, InboxCounter>();
    for (const userId of userIds) tails.set(userId, { userSeq: await newest(userId, 'userSeq'), position: await newest(userId, '_pos') });
    return tails;
  }

  /**
   * Reads the documents holding the user's content and writes back only the fields the scrub
   * changed. Each update is filtered on the same ownership again, so a document that another
   * writer meanwhile moved on to someone else's content (a newer last message) is left alone.
   */
  private async applyScrub({ target, userId }: ScrubOrder): Promise<void> {
    const scrub = scrubs[target];
    const owned = (owner: Owner) => ({ [owner.path.join('.')]: userId, ...(owner.type ? { type: owner.type } : {}) });
    const filter = { $or: scrub.owners.map(owned), [scrub.done.join('.')]: { $ne: true } };
    const coll = this.coll(this.names[scrub.table]);
    const docs = await coll.find(filter).toArray();
    if (docs.length === 0) return;
    await coll.bulkWrite(
      docs.map((doc) => ({ updateOne: { filter: { _id: doc._id, ...filter }, update: { $set: changedFields(doc, scrub.scrub(doc)) } } })),
      { ordered: false },
    );
  }

  // Conversations

  async getConversation(conversationId: string): Promise<ConversationDoc | null> {
    return strip(await this.coll(this.names.conversations).findOne({ _id: docId('conversations', { conversationId }) }));
  }

  async listMembers(conversationId: string): Promise<UserConversationDoc[]> {
    const docs = await this.coll(this.names.userConversations).find({ conversationId, leftSeq: null }).sort({ userId: 1 }).toArray();
    return docs.map((d) => strip<UserConversationDoc>(d)!);
  }

  /**
   * The ranking needs fields of two collections; without $lookup it reads the user's memberships
   * and their conversations and sorts in memory (hundreds to a few thousand per user).
   */
  async listConversations(userId: string, { limit, cursor, archived, includeUnlisted }: ListOptions): Promise<ConversationListItem[]> {
    const memberships = (
      await this.coll(this.names.userConversations).find({ userId, ...(archived === undefined ? {} : { archived }) }).toArray()
    ).map((d) => strip<UserConversationDoc>(d)!);
    if (memberships.length === 0) return [];
    const conversations = new Map(
      (await this.coll(this.names.conversations).find({ _id: { $in: memberships.map((m) => docId('conversations', m)) } }).toArray()).map(
        (d) => [d.conversationId as string, strip<ConversationDoc>(d)!],
      ),
    );
    const items = memberships
      .filter((membership) => conversations.has(membership.conversationId))
      .map((membership) => ({ conversation: conversations.get(membership.conversationId)!, membership }))
      .filter((item) => includeUnlisted || isListed(item))
      .sort((a, b) => compareRanks(rankOf(a), rankOf(b)));
    const after = cursor ? items.filter((item) => compareRanks(rankOf(item), cursor) > 0) : items;
    return after.slice(0, limit);
  }

  // Messages

  async listMessages(conversationId: string, { afterSeq, beforeSeq, maxSeq, limit, hidden }: MessageRange): Promise<MessageDoc[]> {
    const messages = this.coll(this.names.messages);
    const floor = hidden?.clearedUpToSeq ?? -1;
    const except = hidden?.hiddenSeqs.length ? { $nin: [...hidden.hiddenSeqs] } : {};
    if (afterSeq === undefined && beforeSeq !== undefined) {
      const docs = await messages.find({ conversationId, seq: { $lt: beforeSeq, $lte: maxSeq, $gt: floor, ...except } }).sort({ seq: -1 }).limit(limit).toArray();
      return docs.map((d) => strip<MessageDoc>(d)!).reverse();
    }
    const seq: Document = { $gt: Math.max(afterSeq ?? -1, floor), $lte: maxSeq, ...except };
    if (beforeSeq !== undefined) seq.$lt = beforeSeq;
    const docs = await messages.find({ conversationId, seq }).sort({ seq: 1 }).limit(limit).toArray();
    return docs.map((d) => strip<MessageDoc>(d)!);
  }

  async mediaReferences(hash: string, limit: number): Promise<MediaReference[]> {
    const docs = await this.coll(this.names.messages).find({ 'media.hash': hash }).project({ _id: 0, conversationId: 1, seq: 1 }).limit(limit).toArray();
    return docs.map((d) => ({ conversationId: d.conversationId as string, seq: d.seq as number }));
  }

  // Users

  async getUsers(userIds: string[]): Promise<UserDoc[]> {
    if (userIds.length === 0) return [];
    const docs = await this.coll(this.names.users).find({ _id: { $in: userIds.map((userId) => docId('users', { userId })) } }).toArray();
    return docs.map((d) => strip<UserDoc>(d)!);
  }

  // Inbox

  async listInbox(userId: string, afterUserSeq: number, limit: number): Promise<InboxEntry[]> {
    const docs = await this.coll(this.names.inbox).find({ userId, userSeq: { $gt: afterUserSeq } }).sort({ userSeq: 1 }).limit(limit).toArray();
    return docs.map((d) => {
      const { _id, _pos, ...entry } = d;
      return entry as unknown as InboxEntry;
    });
  }

  // Contacts and last seen

  private async currentConversationIds(userId: string): Promise<string[]> {
    const docs = await this.coll(this.names.userConversations).find({ userId, leftSeq: null }, { projection: { conversationId: 1 } }).toArray();
    return docs.map((d) => d.conversationId as string);
  }

  async listContacts(userId: string, maxGroupSize: number): Promise<string[]> {
    const mine = await this.currentConversationIds(userId);
    if (mine.length === 0) return [];
    const eligible = (
      await this.coll(this.names.conversations)
        .find({ _id: { $in: mine.map((conversationId) => docId('conversations', { conversationId })) } })
        .toArray()
    )
      .filter((c) => c.kind === 'direct' || (c.memberCount as number) <= maxGroupSize)
      .map((c) => c.conversationId as string);
    if (eligible.length === 0) return [];
    const others = await this.coll(this.names.userConversations)
      .find({ conversationId: { $in: eligible }, leftSeq: null }, { projection: { userId: 1 } })
      .toArray();
    return [...new Set(others.map((o) => o.userId as string).filter((id) => id !== userId))];
  }

  async sharesConversation(userId: string, otherId: string): Promise<boolean> {
    const mine = await this.currentConversationIds(userId);
    if (mine.length === 0) return false;
    return (await this.coll(this.names.userConversations).findOne({ userId: otherId, conversationId: { $in: mine }, leftSeq: null })) !== null;
  }

  async saveLastSeen(times: Record<string, string>): Promise<void> {
    const entries = Object.entries(times);
    if (entries.length === 0) return;
    // ISO 8601 UTC times compare correctly as strings, so $max keeps the latest.
    await this.coll(LAST_SEEN).bulkWrite(
      entries.map(([userId, at]) => ({ updateOne: { filter: { _id: userId }, update: { $max: { at } }, upsert: true } })),
    );
  }

  async getLastSeen(userIds: string[]): Promise<Record<string, string>> {
    if (userIds.length === 0) return {};
    const docs = await this.coll(LAST_SEEN).find({ _id: { $in: userIds } }).toArray();
    return Object.fromEntries(docs.map((d) => [d._id, d.at as string]));
  }

  // Analytics

  async recordMessageFacts(facts: MessageFact[]): Promise<void> {
    if (facts.length === 0) return;
    const docs = facts.map((f) => ({
      _id: f.eventId,
      _pos: 0,
      conversationId: f.conversationId,
      senderId: f.senderId,
      hour: hourOf(f.at),
      day: dayOf(f.at),
    }));
    // A fact recorded again is rejected by its event id.
    await duplicatesRejected(this.coll(ANALYTICS).insertMany(docs, { ordered: false }));
  }

  /** One accumulator per $group: FerretDB v1 miscounts groups with several $sum fields. */
  async analytics({ since, limit }: AnalyticsQuery): Promise<AnalyticsReport> {
    const match = { $match: { hour: { $gte: hourOf(since) } } };
    const run = (stages: Document[]) => this.coll(ANALYTICS).aggregate([match, ...stages]).toArray();
    const perHour = await run([{ $group: { _id: { c: '$conversationId', h: '$hour' }, messages: { $sum: 1 } } }]);
    const senders = await run([
      { $group: { _id: { d: '$day', s: '$senderId' } } },
      { $group: { _id: '$_id.d', senders: { $sum: 1 } } },
    ]);
    const busiest = await run([{ $group: { _id: '$conversationId', messages: { $sum: 1 } } }]);
    return orderReport(
      {
        messagesPerHour: perHour.map((r) => ({ conversationId: r._id.c, hour: r._id.h, messages: r.messages })),
        dailyActiveSenders: senders.map((r) => ({ day: r._id, senders: r.senders })),
        busiestConversations: busiest.map((r) => ({ conversationId: r._id, messages: r.messages })),
      },
      limit,
    );
  }

  // Whole store

  async dump(): Promise<Record<string, unknown[]>> {
    const out: Record<string, unknown[]> = {};
    for (const collection of documentCollections) {
      const name = this.names[collection];
      const sort = Object.fromEntries(collectionKeys[collection].map((k) => [k, 1 as const]));
      out[collection] = (await this.coll(name).find({}).sort(sort).toArray()).map(({ _id, ...doc }) => doc);
    }
    out.inbox = (await this.coll(this.names.inbox).find({}).sort({ userId: 1, userSeq: 1 }).toArray()).map(({ _id, ...doc }) => doc);
    return out;
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}

function strip<T>(doc: Stored | null): T | null {
  if (!doc) return null;
  const { _id, _pos, ...rest } = doc;
  return rest as T;
}

/** The top-level fields whose values differ after a scrub (which only replaces fields, never removes one). */
function changedFields(before: Document, after: Document): Document {
  return Object.fromEntries(Object.entries(after).filter(([field, value]) => !isDeepStrictEqual(before[field], value)));
}

/** A document's folded write: `set` on every application, `onInsert` too when it creates the document. */
interface PositionedDoc {
  id: string;
  position: number;
  set: Document;
  onInsert: Document;
  /** Whether the document was stored when the batch read it: only then is an update enough. */
  exists: boolean;
}

/**
 * Writes each document only over an older version of it, so two writers never move a document
 * back. New documents go in one insertMany; one that another writer inserted meanwhile is rejected
 * by its _id and updated like the rest, so the newer write wins whichever insert came first. The
 * filters lead with _id, which FerretDB answers from its primary key. MongoDB matches a filter and
 * updates atomically per document; FerretDB v1 matches, then writes, so there two updates of one
 * document at the same moment can still cross.
 */
async function writeOverOlder(coll: MongoCollection<Stored>, docs: PositionedDoc[]): Promise<void> {
  const inserts = docs.filter((d) => !d.exists);
  const lostRaces = inserts.length
    ? await duplicatesRejected(coll.insertMany(inserts.map((d) => ({ _id: d.id, ...d.onInsert, ...d.set, _pos: d.position })), { ordered: false }))
    : [];
  const updates = [...docs.filter((d) => d.exists), ...lostRaces.map((i) => inserts[i]!)];
  if (updates.length === 0) return;
  await coll.bulkWrite(
    updates.map((d) => ({ updateOne: { filter: { _id: d.id, _pos: { $lt: d.position } }, update: { $set: { ...d.set, _pos: d.position } } } })),
    { ordered: false },
  );
}

/** The indexes of the writes a unique index rejected; any other failure is thrown. */
async function duplicatesRejected(write: Promise<unknown>): Promise<number[]> {
  try {
    await write;
    return [];
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error;
    const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    if (!writeErrors.every((e) => e.code === DUPLICATE_KEY)) throw error;
    return writeErrors.map((e) => e.index);
  }
}
