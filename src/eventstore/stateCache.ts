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
 * Folded stream states kept in memory by revision. Loading reads only the events after the cached
 * revision, so a hot conversation costs one short read per command instead of a full fold.
 */
export class StateCache<S, E extends DomainEvent> {
  private readonly cache: LRUCache<string, Folded<S>>;

  constructor(
    private readonly store: EventStore,
    private readonly spec: FoldSpec<S, E>,
    maxEntries = 10_000,
  ) {
    this.cache = new LRUCache({ max: maxEntries });
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

  /** A fresh, uncached state as of `revision` (what a former member saw when they left). */
  async at(id: string, revision: number): Promise<S> {
    const events = await this.store.readStream(this.spec.streamOf(id), { fromRevision: 0, maxCount: revision + 1 });
    let state = this.spec.initialState(id);
    for (const e of events) state = this.spec.evolve(state, toDomainEvent(e) as E, e.revision, e.metadata.at);
    return state;
  }

  /** Replaces the cached state after a successful append (the caller folded the new events in). */
  set(id: string, folded: Folded<S>): void {
    this.cache.set(id, folded);
  }

  invalidate(id: string): void {
    this.cache.delete(id);
  }

  private async foldUpTo(id: string, revision: number): Promise<Folded<S>> {
    const cached = this.cache.get(id) ?? { state: this.spec.initialState(id), revision: -1 };
    if (cached.revision >= revision) return cached;
    const events = await this.store.readStream(this.spec.streamOf(id), {
      fromRevision: cached.revision + 1,
      maxCount: revision - cached.revision,
    });
    // Another load may have advanced the entry while this one was reading.
    const current = this.cache.get(id);
    if (current && current !== cached && current.revision >= cached.revision) return this.foldUpTo(id, revision);
    for (const e of events) {
      if (e.revision !== cached.revision + 1) break;
      cached.state = this.spec.evolve(cached.state, toDomainEvent(e) as E, e.revision, e.metadata.at);
      cached.revision = e.revision;
    }
    if (cached.revision >= 0) this.cache.set(id, cached);
    return cached;
  }
}
