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

  /** Answers waiting to be copied, per stream, while a copy of that stream is under way. */
  private readonly waiting = new Map<string, CopyJob[]>();

  async copy(home: string, event: RecordedEvent): Promise<AppendAtOutcome> {
    const outcome = await this.appendAt(event);
    if (outcome.outcome !== 'gap') return outcome;
    const filled = await this.fill(home, event.streamId, outcome.lastRevision + 1, event.revision);
    return filled ?? this.appendAt(event);
  }

  /**
   * Copies what a home answered (`events`, the stream after `knownRevision`), then fetches the rest up
   * to `untilRevision`: afterwards the stream is here at least that far. Answers the newest local
   * position copied (0 when nothing was). Answers for one stream are copied one batch at a time, and
   * the answers that arrived meanwhile go together in the next batch: commands forwarded at once cost
   * one append here, not one each.
   */
  copyAnswer(home: string, streamId: string, events: RecordedEvent[], knownRevision: number, untilRevision: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const job = { home, events, knownRevision, untilRevision, resolve, reject };
      const waiting = this.waiting.get(streamId);
      if (waiting) return void waiting.push(job);
      this.waiting.set(streamId, [job]);
      void this.copyWaiting(streamId);
    });
  }

  private async copyWaiting(streamId: string): Promise<void> {
    for (let jobs = this.waiting.get(streamId)!; jobs.length > 0; jobs = this.waiting.get(streamId)!) {
      this.waiting.set(streamId, []);
      const byRevision = new Map(jobs.flatMap((j) => j.events.map((e) => [e.revision, e] as const)));
      const events = [...byRevision.values()].sort((a, b) => a.revision - b.revision);
      const known = Math.min(...jobs.map((j) => j.knownRevision));
      const until = Math.max(...jobs.map((j) => j.untilRevision));
      try {
        const position = await this.copyAnswerNow(jobs[0]!.home, streamId, events, known, until);
        for (const job of jobs) job.resolve(position);
      } catch (error) {
        for (const job of jobs) job.reject(error);
      }
    }
    this.waiting.delete(streamId);
  }

  private async copyAnswerNow(home: string, streamId: string, events: RecordedEvent[], knownRevision: number, untilRevision: number): Promise<number> {
    let copiedUpTo = knownRevision;
    let position = 0;
    for (let batch = events; ; ) {
      for (const run of consecutiveRuns(batch)) {
        const outcome = await this.copyRun(home, run);
        if (outcome.outcome === 'gap' || outcome.outcome === 'diverged') {
          throw new DomainError('unavailable', `stream ${streamId} cannot take revision ${run[0]!.revision} from ${home} here: ${outcome.outcome}`);
        }
        copiedUpTo = Math.max(copiedUpTo, run[run.length - 1]!.revision);
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

interface CopyJob {
  home: string;
  events: RecordedEvent[];
  knownRevision: number;
  untilRevision: number;
  resolve(position: number): void;
  reject(error: unknown): void;
}

/** Sorted events split where a revision is missing: each run can go in one append. */
function consecutiveRuns(events: RecordedEvent[]): RecordedEvent[][] {
  const runs: RecordedEvent[][] = [];
  for (const event of events) {
    const run = runs[runs.length - 1];
    if (run && run[run.length - 1]!.revision + 1 === event.revision) run.push(event);
    else runs.push([event]);
  }
  return runs;
}

const toAppend = (e: RecordedEvent): EventToAppend => ({ type: e.type, data: e.data, metadata: e.metadata });
