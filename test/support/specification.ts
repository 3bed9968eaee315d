import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import type { Decider } from '../../src/commands/decider.js';
import { evolveConversation, initialConversationState } from '../../src/domain/conversation.js';
import { DomainError, type DomainErrorCode } from '../../src/domain/errors.js';
import type { ConversationEvent, DomainEvent } from '../../src/domain/events.js';
import type { Write } from '../../src/projections/model.js';
import type { ProjectionInput, Projector, ProjectorOptions } from '../../src/projections/projectors.js';

// Given/when/then specs for deciders and projectors, after Emmett's DeciderSpecification:
//   given(history).when(command).then(events) | .thenThrows(code) | .thenNothingHappened()

export const T0 = Date.parse('2024-03-01T12:00:00.000Z');
export const MINUTE = 60_000;
export const iso = (ms: number) => new Date(ms).toISOString();
/** Event `seq` of a stream happened `seq` minutes after T0, unless a spec says otherwise. */
export const oneMinutePerSeq = (seq: number) => iso(T0 + seq * MINUTE);

/** A history event whose time the spec sets; the others happen at `oneMinutePerSeq`. */
class Timed<E> {
  constructor(
    readonly event: E,
    readonly at: string,
  ) {}
}
type History<E> = ReadonlyArray<E | Timed<E>>;
export const happenedAt = <E>(ms: number, events: E[]): Timed<E>[] => events.map((event) => new Timed(event, iso(ms)));

interface Given<S, C, E> {
  /** The state the history folds into; each Given folds its own, so nothing a spec does leaks into another. */
  readonly state: S;
  when(command: C): DecisionSpec<S, C, E>;
}

interface DecisionSpec<S, C, E> {
  /**
   * The command appends exactly `expected` (or events that pass `check`). Returns the history with
   * them appended, as the command handler would leave it, for the next command.
   */
  then(expected: E[] | ((events: E[]) => boolean)): Given<S, C, E>;
  thenNothingHappened(): void;
  /** The command is refused with a DomainError carrying `code`. */
  thenThrows(code: DomainErrorCode): void;
}

/** `id` is the stream id handed to `initialState`. */
function deciderSpecificationFor<S, C, E>(decider: Decider<S, C, E>, { id }: { id: string }) {
  const fold = (history: History<E>) =>
    history.reduce(
      (state, entry, seq) =>
        entry instanceof Timed ? decider.evolve(state, entry.event, seq, entry.at) : decider.evolve(state, entry, seq, oneMinutePerSeq(seq)),
      decider.initialState(id),
    );

  const given = (history: History<E>): Given<S, C, E> => {
    let folded: { state: S } | undefined;
    const state = () => (folded ??= { state: fold(history) }).state;
    return {
      get state() {
        return state();
      },
      when: (command) => {
        const context = `when ${inspect(command, { breakLength: Infinity })}`;
        const decide = () => decider.decide(state(), command);
        return {
          then: (expected) => {
            const events = decide();
            if (typeof expected === 'function') assert.ok(expected(events), `${context}: unexpected ${inspect(events)}`);
            else assert.deepEqual(events, expected, context);
            return given([...history, ...events]);
          },
          thenNothingHappened: () => assert.deepEqual(decide(), [], `${context}: expected no events`),
          thenThrows: (code) => assert.throws(decide, refusedWith(code, context), `${context}: expected a refusal with ${code}`),
        };
      },
    };
  };
  return given;
}

/** An assert.throws validator: a DomainError with `code`; anything else fails with what was thrown. */
const refusedWith = (code: DomainErrorCode, context: string) => (error: unknown) => {
  if (error instanceof DomainError && error.code === code) return true;
  throw new assert.AssertionError({ message: `${context}: expected a refusal with ${code}`, actual: error, expected: code });
};

export const DeciderSpecification = { for: deciderSpecificationFor };

// ---------------------------------------------------------------------------------------------
// Projectors
// ---------------------------------------------------------------------------------------------

export interface StreamOf {
  kind: ProjectionInput['streamKind'];
  ownerId: string;
}

/**
 * What the projection runner hands the projectors for a stream's events at seqs 0, 1, 2, ...: on a
 * conversation stream, the state right after each event, one state evolved in place. Project each
 * input before taking the next one, as the runner does.
 */
export function* projectionInputs(stream: StreamOf, events: readonly DomainEvent[]): Generator<ProjectionInput> {
  const conversation = stream.kind === 'conversation' ? initialConversationState(stream.ownerId) : null;
  for (const [seq, event] of events.entries()) {
    const at = oneMinutePerSeq(seq);
    if (conversation) evolveConversation(conversation, event as ConversationEvent, seq, at);
    yield { event, streamKind: stream.kind, ownerId: stream.ownerId, seq, at, conversation };
  }
}

interface ProjectionSpec {
  then(expected: Write[]): void;
  thenNothingHappened(): void;
}

function projectorSpecificationFor(projector: Projector, stream: StreamOf, options: ProjectorOptions) {
  return (history: readonly DomainEvent[]) => ({
    when: (event: DomainEvent): ProjectionSpec => {
      const context = `when ${event.type} at seq ${history.length}`;
      const project = () => {
        let last: ProjectionInput | undefined;
        for (const input of projectionInputs(stream, [...history, event])) last = input;
        return projector(last!, options);
      };
      return {
        then: (expected) => assert.deepEqual(project(), expected, context),
        thenNothingHappened: () => assert.deepEqual(project(), [], `${context}: expected no writes`),
      };
    },
  });
}

export const ProjectorSpecification = { for: projectorSpecificationFor };
