import { collectionKeys, type Collection, type InboxEntry, type ScrubTarget, type WriteBatch } from './model.js';

/*
 * What every read store does with a batch before any I/O: drop the writes another writer already
 * applied, fold each document's writes into one, number the inbox entries per user, and collect the
 * scrubs to apply after all of it. The adapters only read the stored positions these functions
 * need and write what they return.
 */

type PositionedWrite = WriteBatch['writes'][number];

/**
 * The writes past their projection's stored checkpoint: the rest were applied by another writer
 * (a rebuild that swapped in a fresh copy). A replay applies all of them again, each still guarded
 * by its document's position.
 */
export function writesToApply(batch: WriteBatch, storedCheckpoints: Record<string, number>): PositionedWrite[] {
  if (batch.reapply) return batch.writes;
  return batch.writes.filter((w) => w.position > (storedCheckpoints[w.projection] ?? 0));
}

/** A document's identity: its key fields, JSON-encoded, so composite keys cannot collide. */
export const docId = (collection: Collection, key: object): string =>
  JSON.stringify(collectionKeys[collection].map((k) => (key as Record<string, unknown>)[k]));

/** One document's upserts of a batch, in position order. */
export interface DocumentWrites {
  collection: Collection;
  id: string;
  key: Record<string, unknown>;
  writes: { position: number; set: object; setOnInsert?: object }[];
}

/** Groups the batch's upserts by document, keeping each document's writes in batch (position) order. */
export function upsertsByDocument(writes: PositionedWrite[]): DocumentWrites[] {
  const docs = new Map<string, DocumentWrites>();
  for (const { position, write } of writes) {
    if (write.kind !== 'upsert') continue;
    const id = docId(write.collection, write.key);
    const groupId = `${write.collection}\u0000${id}`;
    let doc = docs.get(groupId);
    if (!doc) docs.set(groupId, (doc = { collection: write.collection, id, key: write.key, writes: [] }));
    doc.writes.push({ position, set: write.set, setOnInsert: write.setOnInsert });
  }
  return [...docs.values()];
}

/** A document's writes folded into one: `set` on an existing document, or an insert of key + setOnInsert + set. */
export interface FoldedUpsert {
  key: Record<string, unknown>;
  set: Record<string, unknown>;
  setOnInsert: Record<string, unknown>;
  position: number;
}

/**
 * Folds the writes newer than the stored document (`storedPosition` undefined: there is none yet)
 * into one, or null when it is already up to date. Only the first write can create the document,
 * so only its setOnInsert counts: the result is the same whether the writes arrive in one batch
 * or in several.
 */
export function foldDocument(doc: DocumentWrites, storedPosition: number | undefined): FoldedUpsert | null {
  const newer = storedPosition === undefined ? doc.writes : doc.writes.filter((w) => w.position > storedPosition);
  if (newer.length === 0) return null;
  return {
    key: doc.key,
    set: Object.assign({}, ...newer.map((w) => w.set)),
    setOnInsert: storedPosition === undefined ? { ...newer[0]!.setOnInsert } : {},
    position: newer[newer.length - 1]!.position,
  };
}

/** A user's inbox as stored: the last userSeq and the position of the event it came from. */
export interface InboxCounter {
  userSeq: number;
  position: number;
}

export interface NumberedInboxEntry {
  entry: InboxEntry;
  position: number;
}

/** The users whose inbox the batch appends to, so a store reads only their counters. */
export const inboxUsers = (writes: PositionedWrite[]): string[] => [
  ...new Set(writes.flatMap(({ write }) => (write.kind === 'inbox' ? [write.entry.userId] : []))),
];

/**
 * Numbers the batch's inbox entries per user after their stored counters, in position order. An
 * entry at or below its user's counter position is stored already (a retried or replayed batch),
 * so it is skipped and a retry numbers the rest exactly as the first attempt did.
 */
export function numberInboxEntries(
  writes: PositionedWrite[],
  stored: ReadonlyMap<string, InboxCounter>,
): { entries: NumberedInboxEntry[]; counters: Map<string, InboxCounter> } {
  const counters = new Map<string, InboxCounter>();
  const entries: NumberedInboxEntry[] = [];
  for (const { position, write } of writes) {
    if (write.kind !== 'inbox') continue;
    const { userId } = write.entry;
    const counter = counters.get(userId) ?? stored.get(userId) ?? { userSeq: 0, position: 0 };
    if (position <= counter.position) continue;
    const next = { userSeq: counter.userSeq + 1, position };
    counters.set(userId, next);
    entries.push({ entry: { ...write.entry, userSeq: next.userSeq }, position });
  }
  return { entries, counters };
}

export interface ScrubOrder {
  target: ScrubTarget;
  userId: string;
}

/**
 * The batch's scrubs, each once, to apply after its upserts and inbox entries: content projected
 * before the erase in the same batch must be emptied too, and content after it arrives erased.
 */
export function scrubsOf(writes: PositionedWrite[]): ScrubOrder[] {
  const scrubs = new Map<string, ScrubOrder>();
  for (const { write } of writes) {
    if (write.kind === 'scrub') scrubs.set(JSON.stringify([write.target, write.userId]), { target: write.target, userId: write.userId });
  }
  return [...scrubs.values()];
}
