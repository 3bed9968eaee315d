import type { ChatEvent } from './types.js';

interface Track {
  /** The last seq surfaced to the application. */
  last: number;
  /** Events that arrived past a gap, surfaced once the gap is filled. */
  held: Map<number, ChatEvent>;
}

/** Seqs missing in a conversation: everything after `afterSeq` and before `beforeSeq`. */
export interface Gap {
  conversationId: string;
  afterSeq: number;
  beforeSeq: number;
}

/**
 * Where the application stands in each conversation. Seqs are gap-free per conversation, so an
 * event past `last + 1` means a miss: it is held until the missing ones arrive, and anything at or
 * below `last` was surfaced already and is dropped. That is how a replay after a reconnect, a
 * gap fill and a live frame can overlap without the application seeing an event twice.
 */
export class Timelines {
  private readonly tracks = new Map<string, Track>();

  constructor(start: Record<string, number> = {}) {
    for (const [conversationId, last] of Object.entries(start)) this.track(conversationId, last);
  }

  /**
   * The application already has everything up to `lastSeq` (it read it by REST). A position only
   * moves forward: a list that is older than what the socket brought changes nothing.
   */
  track(conversationId: string, lastSeq: number): void {
    const track = this.tracks.get(conversationId);
    if (!track) this.tracks.set(conversationId, { last: lastSeq, held: new Map() });
    else if (lastSeq > track.last) {
      track.last = lastSeq;
      for (const seq of track.held.keys()) if (seq <= lastSeq) track.held.delete(seq);
    }
  }

  forget(conversationId: string): void {
    this.tracks.delete(conversationId);
  }

  lastSeq(conversationId: string): number | undefined {
    return this.tracks.get(conversationId)?.last;
  }

  /** The position to resume from: the last seq surfaced per conversation. */
  position(): Record<string, number> {
    return Object.fromEntries([...this.tracks].map(([id, t]) => [id, t.last]));
  }

  /**
   * The events to surface now, in seq order: this one and any held ones it connects. The first
   * event of a conversation the application never named starts its track (a conversation it just
   * joined, or one the inbox replay brings from its beginning).
   */
  admit(event: ChatEvent): ChatEvent[] {
    const track = this.tracks.get(event.conversationId);
    if (!track) {
      this.tracks.set(event.conversationId, { last: event.seq, held: new Map() });
      return [event];
    }
    if (event.seq <= track.last) return [];
    if (event.seq > track.last + 1) {
      track.held.set(event.seq, event);
      return [];
    }
    const ready = [event];
    track.last = event.seq;
    for (let next = track.held.get(track.last + 1); next; next = track.held.get(track.last + 1)) {
      track.held.delete(next.seq);
      ready.push(next);
      track.last = next.seq;
    }
    return ready;
  }

  /** The first gap of a conversation, if events are held behind one. */
  gap(conversationId: string): Gap | null {
    const track = this.tracks.get(conversationId);
    if (!track?.held.size) return null;
    return { conversationId, afterSeq: track.last, beforeSeq: Math.min(...track.held.keys()) };
  }

  /** After a reconnect the sync replays everything after each position, held events included. */
  dropHeld(): void {
    for (const track of this.tracks.values()) track.held.clear();
  }
}
