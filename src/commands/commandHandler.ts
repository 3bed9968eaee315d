import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { DomainError } from '../domain/errors.js';
import { CURRENT_SCHEMA_VERSION, type DomainEvent, type EventMetadata } from '../domain/events.js';
import { appendedSize } from '../eventstore/appendSize.js';
import type { EventStore, EventToAppend } from '../eventstore/port.js';
import { expectedAfter } from '../eventstore/expectedRevision.js';
import { copyState, type Folded, type StateCache } from '../eventstore/stateCache.js';
import { retryPolicies, withRetry } from '../shared/retry.js';
import type { Decider } from './decider.js';

export interface CommandContext {
  correlationId: string;
  causationId?: string;
}

export interface AppendedEvent<E> {
  event: E;
  seq: number;
  at: string;
  eventId: string;
}

export interface Outcome<E, R> {
  events: AppendedEvent<E>[];
  /** Global position of the append (0 when nothing was appended). */
  position: number;
  reply: R;
}

interface Job<S, C, E, R> {
  command: C;
  context: CommandContext;
  reply: (state: S, events: AppendedEvent<E>[]) => R;
  resolve(outcome: Outcome<E, R>): void;
  reject(error: unknown): void;
}

type AnyJob<S, C, E> = Job<S, C, E, unknown>;

/**
 * Where commands for a stream homed in another datacenter go. Its home alone decides and appends
 * them, in one queue with its own commands, so a busy conversation never makes datacenters race
 * for its next revision.
 */
export interface RemoteExecution {
  /** The datacenter that decides commands for `streamId`, or null when this one does. */
  homeElsewhere(streamId: string, command: unknown): Promise<string | null>;
  /**
   * Has `home` run the command, and copies the stream's events from it up to at least the command's
   * own; answers those, and the local position of the newest event copied.
   */
  execute(
    home: string,
    streamId: string,
    command: unknown,
    context: CommandContext,
    knownRevision: number,
  ): Promise<{ events: AppendedEvent<unknown>[]; position: number }>;
}

/** What one append of a batch carries, and the queued jobs that must wait for the next one. */
interface Batch<S, C, E> {
  accepted: { job: AnyJob<S, C, E>; events: AppendedEvent<E>[]; reply: unknown }[];
  toAppend: EventToAppend[];
  /** The private copy with the accepted events folded in: what the cache holds once they are stored. */
  state: S;
  deferred: AnyJob<S, C, E>[];
}

/**
 * The one command handler: load the folded state, decide, append with the expected revision,
 * retry on a conflict. Commands for the same stream queue up and are decided one after another
 * against the evolving state, then appended together: a busy conversation costs one append per
 * batch, not one per message, and its commands never conflict with each other in this process.
 * A batch stops at the store's `maxAppendBytes`; the commands after that point wait for the next
 * append and are decided against the state the previous one stored, so the queue keeps its order.
 *
 * The batch's events fold into the handler's private copy of the state, and into the cache's only
 * once the append is durable: nobody, not even a concurrent load, sees events that were never stored.
 * The copy is kept from batch to batch and evolved alongside the cache's state (each event is folded
 * twice, which is cheap); it is copied afresh only when it fell out of step, after another writer's
 * append or a failed one. Copying per batch instead would cost time in proportion to the state.
 */
export class CommandHandler<S extends object, C, E extends DomainEvent> {
  private readonly queues = new Map<string, AnyJob<S, C, E>[]>();
  private readonly privateCopies = new LRUCache<string, Folded<S>>({ max: PRIVATE_COPIES });

  constructor(
    private readonly store: EventStore,
    private readonly cache: StateCache<S, E>,
    private readonly decider: Decider<S, C, E>,
    private readonly streamOf: (id: string) => string,
    private readonly originDc: string,
    private readonly remote?: RemoteExecution,
  ) {}

  execute<R = undefined>(
    id: string,
    command: C,
    context: CommandContext,
    reply: (state: S, events: AppendedEvent<E>[]) => R = () => undefined as R,
  ): Promise<Outcome<E, R>> {
    return this.remote ? this.executeAtHome(this.remote, id, command, context, reply) : this.enqueue(id, command, context, reply);
  }

  /**
   * Runs the command here or at its stream's home. A forwarded command's reply is computed here, from
   * the state with the home's events copied in: the same events, so the same answer.
   */
  private async executeAtHome<R>(
    remote: RemoteExecution,
    id: string,
    command: C,
    context: CommandContext,
    reply: (state: S, events: AppendedEvent<E>[]) => R,
  ): Promise<Outcome<E, R>> {
    const streamId = this.streamOf(id);
    const home = await remote.homeElsewhere(streamId, command);
    if (!home) return this.enqueue(id, command, context, reply);
    const known = await this.cache.load(id);
    const { events, position } = await remote.execute(home, streamId, command, context, known.revision);
    const { state } = await this.cache.load(id);
    const decided = events as AppendedEvent<E>[];
    return { events: decided, position, reply: reply(state, decided) };
  }

  private enqueue<R>(
    id: string,
    command: C,
    context: CommandContext,
    reply: (state: S, events: AppendedEvent<E>[]) => R,
  ): Promise<Outcome<E, R>> {
    return new Promise((resolve, reject) => {
      const job = { command, context, reply, resolve, reject } as AnyJob<S, C, E>;
      const queue = this.queues.get(id);
      if (queue) {
        queue.push(job);
        return;
      }
      this.queues.set(id, [job]);
      void this.drain(id);
    });
  }

  private async drain(id: string): Promise<void> {
    let waiting: AnyJob<S, C, E>[] = [];
    for (;;) {
      // Jobs a full append left over were queued before anything queued since, so they go first.
      waiting = [...waiting, ...this.queues.get(id)!];
      this.queues.set(id, []);
      if (waiting.length === 0) {
        this.queues.delete(id);
        return;
      }
      waiting = await this.runBatch(id, waiting);
    }
  }

  /** Appends the jobs at the head of `jobs` that fit in one append; returns those left for the next. */
  private async runBatch(id: string, jobs: AnyJob<S, C, E>[]): Promise<AnyJob<S, C, E>[]> {
    // Whom a failure answers, and who waits for the next append instead: all of `jobs` until an append is sent.
    let failing = jobs;
    let leftOver: AnyJob<S, C, E>[] = [];
    const attempt = async () => {
      failing = jobs;
      leftOver = [];
      const folded = this.privateCopy(id, await this.cache.load(id));
      const batch = this.decideBatch(folded, jobs);
      if (batch.toAppend.length === 0) {
        for (const a of batch.accepted) a.job.resolve({ events: [], position: 0, reply: a.reply });
        return batch.deferred;
      }
      failing = batch.accepted.map((a) => a.job);
      leftOver = batch.deferred;
      // After a conflict these are decided again; those the decider refused are answered already.
      jobs = [...failing, ...leftOver];
      // Until the append is known to be stored, the private copy may hold events that never will be.
      this.privateCopies.delete(id);
      const result = await this.store.append(this.streamOf(id), batch.toAppend, expectedAfter(folded.revision));
      this.privateCopies.set(id, { state: batch.state, revision: result.nextExpectedRevision });
      this.cache.commit(id, batch.accepted.flatMap((a) => a.events), result.nextExpectedRevision);
      for (const a of batch.accepted) {
        a.job.resolve({ events: a.events, position: a.events.length ? result.position : 0, reply: a.reply });
      }
      return batch.deferred;
    };
    try {
      return await withRetry(retryPolicies.writeConflict, attempt);
    } catch (error) {
      for (const job of failing) job.reject(error);
      return leftOver;
    }
  }

  /** The private copy at the cache's revision: the one kept from the last batch, or a fresh copy. */
  private privateCopy(id: string, loaded: Folded<S>): Folded<S> {
    const kept = this.privateCopies.get(id);
    if (kept && kept.revision === loaded.revision) return kept;
    const copy = { state: copyState(loaded.state), revision: loaded.revision };
    this.privateCopies.set(id, copy);
    return copy;
  }

  /**
   * Decides `jobs` in order against `folded`, each against the state the ones before it produce, until
   * the next job's events would take the append past the store's bound: that job and all after it are
   * deferred, not skipped, so no command overtakes another. A job refused by the decider, or whose
   * events alone exceed the bound, is rejected here and the others go on without it.
   */
  private decideBatch(folded: Folded<S>, jobs: AnyJob<S, C, E>[]): Batch<S, C, E> {
    const maxBytes = this.store.maxAppendBytes;
    const batch: Batch<S, C, E> = { accepted: [], toAppend: [], state: folded.state, deferred: [] };
    let bytes = 0;
    let seq = folded.revision;
    for (const [index, job] of jobs.entries()) {
      let decided: E[];
      try {
        decided = this.decider.decide(batch.state, job.command);
      } catch (error) {
        job.reject(error);
        continue;
      }
      const at = new Date().toISOString();
      const events = decided.map((event, i) => ({ event, seq: seq + 1 + i, at, eventId: randomUUID() }));
      const stored = events.map((e) => this.toStored(e, job.context));
      const size = stored.reduce((total, e) => total + appendedSize(e), 0);
      if (size > maxBytes) {
        job.reject(tooLargeForOneAppend(size, maxBytes));
        continue;
      }
      if (bytes + size > maxBytes) {
        batch.deferred = jobs.slice(index);
        return batch;
      }
      bytes += size;
      seq += events.length;
      for (const e of events) batch.state = this.decider.evolve(batch.state, e.event, e.seq, e.at);
      batch.toAppend.push(...stored);
      batch.accepted.push({ job, events, reply: job.reply(batch.state, events) });
    }
    return batch;
  }

  private toStored(e: AppendedEvent<E>, context: CommandContext): EventToAppend {
    return { type: e.event.type, data: e.event.data, metadata: eventMetadata(this.originDc, context, e.eventId, e.at) };
  }
}

/** Hot streams whose private copies are kept between batches; others are copied again when next used. */
const PRIVATE_COPIES = 1000;

const tooLargeForOneAppend = (bytes: number, maxBytes: number) =>
  new DomainError('too_large', `the command's events take ${bytes} bytes, over the ${maxBytes} bytes the event store takes in one append`);

export function eventMetadata(
  originDc: string,
  context: CommandContext,
  eventId: string = randomUUID(),
  at: string = new Date().toISOString(),
): EventMetadata {
  return {
    eventId,
    originDc,
    correlationId: context.correlationId,
    causationId: context.causationId ?? context.correlationId,
    at,
    schemaVersion: CURRENT_SCHEMA_VERSION,
  };
}
