import { DomainError, WrongExpectedRevision } from '../domain/errors.js';
import { expectedAfter } from '../eventstore/expectedRevision.js';
import type { AppendAtOutcome, EventStore, EventToAppend, RecordedEvent } from '../eventstore/port.js';
import type { PeerLink } from './peerLink.js';

/** Events fetched per request when a copy must first fill in what it missed. */
const FILL_BATCH = 500;

/**
 * Copies a stream's events from their home into the local store at their own revisions with their
 * own ids: what the sync consumer does with each event from Kafka, and a forwarded command with the
 * events its home answered. A repeat is a `duplicate`; a copy that finds the event before it missing
 * fetches the missing range from the home first (the same events, never made up), so a gap is only
 * answered when the home cannot fill it. A different event at the revision is `diverged`: never
 * overwritten, the caller surfaces it.
 */
export class StreamCopier {
  constructor(
    private readonly local: Pick<EventStore, 'appendAt' | 'append' | 'readStream'>,
    private readonly link: Pick<PeerLink, 'readStream'>,
  ) {}

  /** The copy of each stream under way, which the next one waits for. */
  private readonly copying = new Map<string, Promise<void>>();

  async copy(home: string, event: RecordedEvent): Promise<AppendAtOutcome> {
    const outcome = await this.appendAt(event);
    if (outcome.outcome !== 'gap') return outcome;
    const filled = await this.fill(home, event.streamId, outcome.lastRevision + 1, event.revision);
    return filled ?? this.appendAt(event);
  }

  /**
   * Copies what a home answered (`events`, the stream after `knownRevision`), then fetches the rest up
   * to `untilRevision`: afterwards the stream is here at least that far. Answers the newest local
   * position copied (0 when nothing was). Copies of one stream run one at a time, so answers that
   * overlap (commands in flight together) find each other's events here instead of racing for them.
   */
  copyAnswer(home: string, streamId: string, events: RecordedEvent[], knownRevision: number, untilRevision: number): Promise<number> {
    const previous = this.copying.get(streamId) ?? Promise.resolve();
    const mine = previous.then(() => this.copyAnswerNow(home, streamId, events, knownRevision, untilRevision));
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.copying.set(streamId, settled);
    void settled.then(() => {
      if (this.copying.get(streamId) === settled) this.copying.delete(streamId);
    });
    return mine;
  }

  private async copyAnswerNow(home: string, streamId: string, events: RecordedEvent[], knownRevision: number, untilRevision: number): Promise<number> {
    let copiedUpTo = knownRevision;
    let position = 0;
    for (let batch = events; ; ) {
      if (batch.length > 0) {
        const outcome = await this.copyRun(home, batch);
        if (outcome.outcome === 'gap' || outcome.outcome === 'diverged') {
          throw new DomainError('unavailable', `stream ${streamId} cannot take revision ${batch[0]!.revision} from ${home} here: ${outcome.outcome}`);
        }
        copiedUpTo = Math.max(copiedUpTo, batch[batch.length - 1]!.revision);
        position = Math.max(position, outcome.position);
      }
      if (copiedUpTo >= untilRevision) return position;
      batch = await this.link.readStream(home, streamId, copiedUpTo + 1, Math.min(FILL_BATCH, untilRevision - copiedUpTo));
      if (batch.length === 0) throw new DomainError('unavailable', `${home} did not return ${streamId} up to revision ${untilRevision}`);
    }
  }

  /**
   * Copies consecutive events of one stream: those already here are checked by id, the rest go in
   * one append (one write to disk, however many there are). If the stream here is not where that
   * append expects it, they are copied one by one, which fills a gap from the home.
   */
  private async copyRun(home: string, events: RecordedEvent[]): Promise<AppendAtOutcome> {
    const { streamId, revision: from } = events[0]!;
    const present = await this.local.readStream(streamId, { fromRevision: from, maxCount: events.length });
    let position = 0;
    for (const [i, found] of present.entries()) {
      if (found.metadata.eventId !== events[i]!.metadata.eventId) return { outcome: 'diverged', foundEventId: found.metadata.eventId, position: found.position };
      position = found.position;
    }
    const rest = events.slice(present.length);
    if (rest.length === 0) return { outcome: 'duplicate', position };
    try {
      const appended = await this.local.append(streamId, rest.map(toAppend), expectedAfter(rest[0]!.revision - 1));
      return { outcome: 'appended', position: appended.position };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevision)) throw error;
    }
    for (const event of rest) {
      const outcome = await this.copy(home, event);
      if (outcome.outcome === 'gap' || outcome.outcome === 'diverged') return outcome;
      position = Math.max(position, outcome.position);
    }
    return { outcome: 'appended', position };
  }

  /** Copies revisions [from, until) from the home, a batch per append; answers the first outcome that stops it, or null. */
  private async fill(home: string, streamId: string, from: number, until: number): Promise<AppendAtOutcome | null> {
    for (let next = from; next < until; ) {
      const events = await this.link.readStream(home, streamId, next, Math.min(FILL_BATCH, until - next));
      if (events.length === 0) return { outcome: 'gap', lastRevision: next - 1 };
      const outcome = await this.copyRun(home, events);
      if (outcome.outcome === 'gap' || outcome.outcome === 'diverged') return outcome;
      next = events[events.length - 1]!.revision + 1;
    }
    return null;
  }

  private appendAt(e: RecordedEvent): Promise<AppendAtOutcome> {
    return this.local.appendAt(e.streamId, e.revision, toAppend(e));
  }
}

const toAppend = (e: RecordedEvent): EventToAppend => ({ type: e.type, data: e.data, metadata: e.metadata });
