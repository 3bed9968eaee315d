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
 * A state `evolve` may change in place without touching `state`: `state` itself when it is private
 * (not frozen), otherwise a copy. Evolve updates collections and the records in them in place (a group
 * can have thousands of members), so the copy gets its own Maps, Sets and arrays, and its own records
 * in them. Copying once per batch of events, not once per event, is what keeps this cheap.
 */
export function writable<S extends object>(state: S): S {
  if (!Object.isFrozen(state)) return state;
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

/** Makes a state a snapshot: from now on whoever holds it may rely on it never changing. */
function publish<S>(folded: Folded<S>): Folded<S> {
  Object.freeze(folded.state);
  return Object.freeze(folded);
}

/**
 * Folded stream states kept in memory by revision. Loading reads only the events after the cached
 * revision, so a hot conversation costs one short read per command instead of a full fold.
 *
 * What load() and set() hold and hand out are frozen snapshots, never changed afterwards: a command
 * being decided or a request reading membership never sees events that were not stored, nor ones
 * folded in while it was awaiting something. Newer events are folded into a private copy. after() is
 * the one exception: a feed consumer reads every event in order, so it gets a state lent to it until
 * this cache's next after() or load(), which evolve that same state in place instead of copying a busy
 * group's state once per event. A state load() handed out is copied before anything changes it.
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

  /** The state including every event stored so far, as a frozen snapshot. */
  async load(id: string): Promise<Folded<S>> {
    return publish(await this.foldUpTo(id, Number.MAX_SAFE_INTEGER));
  }

  /**
   * The state right after `event`, for consumers that follow the global feed. Events usually arrive
   * one revision after the cached one; anything else (a restart, a replay) refolds from the store.
   * A caller that has parsed the event already passes it, so it is parsed once.
   */
  async after(id: string, event: RecordedEvent, parsed: DomainEvent = toDomainEvent(event)): Promise<S> {
    const cached = this.cache.get(id);
    if (cached && cached.revision === event.revision - 1) {
      const state = this.spec.evolve(writable(cached.state), parsed as E, event.revision, event.metadata.at);
      this.cache.set(id, { state, revision: event.revision });
      return state;
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
   * Publishes the state after a durable append (the caller folded the new events into its private
   * copy); the caller must not change it any more.
   */
  set(id: string, folded: Folded<S>): void {
    this.cache.set(id, publish(folded));
  }

  private async foldUpTo(id: string, revision: number): Promise<Folded<S>> {
    const cached = this.cache.get(id);
    const from = cached ?? { state: this.spec.initialState(id), revision: -1 };
    if (from.revision >= revision) return from;
    const events = await this.store.readStream(this.spec.streamOf(id), {
      fromRevision: from.revision + 1,
      maxCount: revision - from.revision,
    });
    // Another load may have advanced the entry while this one was reading.
    const current = this.cache.get(id);
    if (current && current !== cached && current.revision >= from.revision) return this.foldUpTo(id, revision);
    if (events[0]?.revision !== from.revision + 1) return from;
    let state = writable(from.state);
    let folded = from.revision;
    for (const e of events) {
      if (e.revision !== folded + 1) break;
      state = this.spec.evolve(state, toDomainEvent(e) as E, e.revision, e.metadata.at);
      folded = e.revision;
    }
    const result = { state, revision: folded };
    this.cache.set(id, result);
    return result;
  }
}
