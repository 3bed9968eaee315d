import { randomUUID } from 'node:crypto';
import { WrongExpectedRevision } from '../domain/errors.js';
import { CURRENT_SCHEMA_VERSION, type DomainEvent, type EventMetadata } from '../domain/events.js';
import type { EventStore, EventToAppend } from '../eventstore/port.js';
import { expectedAfter } from '../eventstore/expectedRevision.js';
import { writable, type StateCache } from '../eventstore/stateCache.js';
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

const MAX_CONFLICT_RETRIES = 8;

/**
 * The one command handler: load the folded state, decide, append with the expected revision,
 * retry on a conflict. Commands for the same stream queue up and are decided one after another
 * against the evolving state, then appended together: a busy conversation costs one append per
 * batch, not one per message, and its commands never conflict with each other in this process.
 *
 * The batch's events fold into a private copy of the loaded snapshot, published to the cache only
 * once the append is durable: nobody, not even a concurrent load, sees events that were never stored.
 */
export class CommandHandler<S extends object, C, E extends DomainEvent> {
  private readonly queues = new Map<string, Job<S, C, E, unknown>[]>();

  constructor(
    private readonly store: EventStore,
    private readonly cache: StateCache<S, E>,
    private readonly decider: Decider<S, C, E>,
    private readonly streamOf: (id: string) => string,
    private readonly originDc: string,
  ) {}

  execute<R = undefined>(
    id: string,
    command: C,
    context: CommandContext,
    reply: (state: S, events: AppendedEvent<E>[]) => R = () => undefined as R,
  ): Promise<Outcome<E, R>> {
    return new Promise((resolve, reject) => {
      const job = { command, context, reply, resolve, reject } as Job<S, C, E, unknown>;
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
    for (;;) {
      const jobs = this.queues.get(id)!;
      if (jobs.length === 0) {
        this.queues.delete(id);
        return;
      }
      this.queues.set(id, []);
      await this.runBatch(id, jobs);
    }
  }

  private async runBatch(id: string, jobs: Job<S, C, E, unknown>[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let folded;
      try {
        folded = await this.cache.load(id);
      } catch (error) {
        for (const job of jobs) job.reject(error);
        return;
      }
      const expected = expectedAfter(folded.revision);
      const accepted: { job: Job<S, C, E, unknown>; events: AppendedEvent<E>[]; reply: unknown }[] = [];
      const toAppend: EventToAppend[] = [];
      let seq = folded.revision;
      let state = folded.state;
      for (const job of jobs) {
        let decided: E[];
        try {
          decided = this.decider.decide(state, job.command);
        } catch (error) {
          job.reject(error);
          continue;
        }
        const at = new Date().toISOString();
        const events = decided.map((event) => ({ event, seq: ++seq, at, eventId: randomUUID() }));
        // Later commands in the batch are decided against the state these events produce.
        for (const e of events) state = this.decider.evolve(writable(state), e.event, e.seq, e.at);
        for (const e of events) toAppend.push(this.toStored(e, job.context));
        accepted.push({ job, events, reply: job.reply(state, events) });
      }
      if (toAppend.length === 0) {
        for (const a of accepted) a.job.resolve({ events: [], position: 0, reply: a.reply });
        return;
      }
      try {
        const result = await this.store.append(this.streamOf(id), toAppend, expected);
        this.cache.set(id, { state, revision: result.nextExpectedRevision });
        for (const a of accepted) {
          a.job.resolve({ events: a.events, position: a.events.length ? result.position : 0, reply: a.reply });
        }
        return;
      } catch (error) {
        if (!(error instanceof WrongExpectedRevision) || attempt >= MAX_CONFLICT_RETRIES) {
          for (const a of accepted) a.job.reject(error);
          return;
        }
        jobs = accepted.map((a) => a.job);
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
      }
    }
  }

  private toStored(e: AppendedEvent<E>, context: CommandContext): EventToAppend {
    return { type: e.event.type, data: e.event.data, metadata: eventMetadata(this.originDc, context, e.eventId, e.at) };
  }
}

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
