import { LRUCache } from 'lru-cache';
import { parseEvent, type DomainEvent } from '../domain/events.js';
import type { EventStore, RecordedEvent } from './port.js';

export interface Folded<S> {
  state: S;
  /** Revision of the last event folded in; -1 when the stream does not exist. */
  revision: number;
}

export interface FoldSpec<S, E> {
  initialState(id: string): S;
  evolve(state: S, event: E, seq: number, at: string): S;
  streamOf(id: string): string;
}

/** Parses a stored event into its domain form (refusing unknown future versions). */
export const toDomainEvent = (e: RecordedEvent): DomainEvent => parseEvent(e.type, e.metadata.schemaVersion, e.data);

/**
 * A copy of a state that `evolve` may change in place without touching the original. Evolve updates
 * collections and the records in them in place (a group can have thousands of members), so the copy
 * gets its own Maps, Sets and arrays, and its own records in them. It costs time in proportion to
 * the state, so the command handler makes one only when its private copy fell out of step (another
 * writer appended, or an append failed), not once per command.
 */
export function copyState<S extends object>(state: S): S {
  return Object.fromEntries(Object.entries(state).map(([key, value]) => [key, copyField(value)])) as S;
}

function copyField(value: unknown): unknown {
  if (value instanceof Map) {
    const copy = new Map();
    for (const [key, item] of value) copy.set(key, copyRecord(item));
    return copy;
  }
  if (value instanceof Set) return new Set(value);
  // A state's arrays hold one kind of item: seqs (unbounded, so copied the fast way) or records.
  if (Array.isArray(value)) return typeof value[0] === 'object' ? value.map(copyRecord) : value.slice();
  return copyRecord(value);
}

const copyRecord = (value: unknown): unknown =>
  value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype ? { ...value } : value;

/** An event as stored: what `commit` folds into the cached state. */
export interface StoredEvent<E> {
  event: E;
  seq: number;
  at: string;
}

/**
 * Folded stream states kept in memory by revision. Loading reads only the events after the cached
 * revision, so a hot conversation costs one short read per command instead of a full fold.
 *
 * A cached state only ever holds stored events: it moves forward in place as newer stored events are
 * folded in (by a load, by the feed through after(), or by commit() after an append), and nothing
 * else writes to it. A writer decides against a private copy of its own (see CommandHandler) and
 * commits the events once they are durable, so nobody who loaded a state sees an event that a failed
 * append never stored.
 */
export class StateCache<S extends object, E extends DomainEvent> {
  private readonly cache: LRUCache<string, Folded<S>>;

  constructor(
    private readonly store: EventStore,
    private readonly spec: FoldSpec<S, E>,
    maxEntries = 10_000,
  ) {
    this.cache = new LRUCache({ max: maxEntries });
  }

  /** Forgets every state: the next load of each folds its stream again. */
  clear(): void {
    this.cache.clear();
  }

  /** The state including every event stored so far. */
  async load(id: string): Promise<Folded<S>> {
    return this.foldUpTo(id, Number.MAX_SAFE_INTEGER);
  }

  /**
   * The state right after `event`, for consumers that follow the global feed. Events usually arrive
   * one revision after the cached one; anything else (a restart, a replay) refolds from the store.
   * A caller that has parsed the event already passes it, so it is parsed once.
   */
  async after(id: string, event: RecordedEvent, parsed: DomainEvent = toDomainEvent(event)): Promise<S> {
    const cached = this.cache.get(id);
    if (cached && cached.revision === event.revision - 1) {
      cached.state = this.spec.evolve(cached.state, parsed as E, event.revision, event.metadata.at);
      cached.revision = event.revision;
      return cached.state;
    }
    if (cached && cached.revision > event.revision - 1) this.cache.delete(id);
    return (await this.foldUpTo(id, event.revision)).state;
  }

  /** The newest state this cache holds, without reading the store; undefined when it holds none. */
  peek(id: string): S | undefined {
    return this.cache.get(id)?.state;
  }

  /** A fresh, uncached state as of `revision` (what a former member saw when they left). */
  async at(id: string, revision: number): Promise<S> {
    const events = await this.store.readStream(this.spec.streamOf(id), { fromRevision: 0, maxCount: revision + 1 });
    let state = this.spec.initialState(id);
    for (const e of events) state = this.spec.evolve(state, toDomainEvent(e) as E, e.revision, e.metadata.at);
    return state;
  }

  /**
   * Folds the events of a durable append into the cached state. A load may have folded them in
   * already (it read the store after the append); a cached state further behind is dropped, and the
   * next load reads what it misses from the store.
   */
  commit(id: string, events: StoredEvent<E>[], revision: number): void {
    const cached = this.cache.get(id);
    if (!cached || cached.revision >= revision) return;
    const pending = events.filter((e) => e.seq > cached.revision);
    if (pending[0]?.seq !== cached.revision + 1) {
      this.cache.delete(id);
      return;
    }
    for (const e of pending) cached.state = this.spec.evolve(cached.state, e.event, e.seq, e.at);
    cached.revision = revision;
  }

  private async foldUpTo(id: string, revision: number): Promise<Folded<S>> {
    const cached = this.cache.get(id) ?? { state: this.spec.initialState(id), revision: -1 };
    if (cached.revision >= revision) return cached;
    const events = await this.store.readStream(this.spec.streamOf(id), {
      fromRevision: cached.revision + 1,
      maxCount: revision - cached.revision,
    });
    // Another load, the feed or a commit may have advanced the entry while this one was reading.
    const current = this.cache.get(id);
    if (current && current !== cached && current.revision >= cached.revision) return this.foldUpTo(id, revision);
    for (const e of events) {
      if (e.revision !== cached.revision + 1) continue;
      cached.state = this.spec.evolve(cached.state, toDomainEvent(e) as E, e.revision, e.metadata.at);
      cached.revision = e.revision;
    }
    if (cached.revision >= 0) this.cache.set(id, cached);
    return cached;
  }
}
