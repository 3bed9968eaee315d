import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decider } from '../../src/commands/decider.js';
import { DomainError, invalid } from '../../src/domain/errors.js';
import type { ConversationEvent } from '../../src/domain/events.js';
import type { Projector } from '../../src/projections/projectors.js';
import { DeciderSpecification, MINUTE, ProjectorSpecification, T0, happenedAt, iso } from './specification.js';

// A tally that refuses non-positive amounts, fails loudly on absurd ones, and remembers when each
// event happened. It evolves in place, like the real deciders.
type TallyCommand = { type: 'add'; amount: number } | { type: 'reset' };
type TallyEvent = { type: 'Added'; amount: number } | { type: 'Reset' };
interface Tally {
  total: number;
  times: string[];
}
const tally: Decider<Tally, TallyCommand, TallyEvent> = {
  initialState: () => ({ total: 0, times: [] }),
  decide(state, command) {
    if (command.type === 'reset') return state.total === 0 ? [] : [{ type: 'Reset' }];
    if (command.amount > 1000) throw new Error('an absurd amount');
    if (command.amount <= 0) throw invalid('amounts are positive');
    return [{ type: 'Added', amount: command.amount }];
  },
  evolve(state, event, _seq, at) {
    state.total = event.type === 'Added' ? state.total + event.amount : 0;
    state.times.push(at);
    return state;
  },
};
const given = DeciderSpecification.for(tally, { id: 't1' });
const added = (amount: number): TallyEvent => ({ type: 'Added', amount });
const add = (amount: number): TallyCommand => ({ type: 'add', amount });

const isAssertion = (error: unknown) => error instanceof assert.AssertionError;

describe('decider specification', () => {
  it('passes when the command appends exactly the expected events, and fails on any other events', () => {
    given([added(2)]).when(add(3)).then([added(3)]);
    assert.throws(() => given([added(2)]).when(add(3)).then([added(4)]), isAssertion);
    assert.throws(() => given([added(2)]).when(add(3)).then([]), isAssertion);
    assert.throws(() => given([added(2)]).when(add(3)).then([added(3), added(3)]), isAssertion);
  });

  it('checks the appended events with a predicate', () => {
    given([]).when(add(3)).then((events) => events.length === 1);
    assert.throws(() => given([]).when(add(3)).then((events) => events.length === 0), isAssertion);
  });

  it('continues from the history with the appended events folded in, at the clock of their seqs', () => {
    const after = given([added(2)]).when(add(3)).then([added(3)]);
    assert.equal(after.state.total, 5);
    assert.deepEqual(after.state.times, [iso(T0), iso(T0 + MINUTE)]);
    after.when({ type: 'reset' }).then([{ type: 'Reset' }]);
  });

  it('passes thenNothingHappened only when nothing is appended', () => {
    given([]).when({ type: 'reset' }).thenNothingHappened();
    assert.throws(() => given([added(1)]).when({ type: 'reset' }).thenNothingHappened(), isAssertion);
  });

  it('passes thenThrows only for a DomainError with the expected code', () => {
    given([]).when(add(0)).thenThrows('validation_failed');
    assert.throws(() => given([]).when(add(0)).thenThrows('conflict'), isAssertion);
    assert.throws(() => given([]).when(add(1)).thenThrows('validation_failed'), isAssertion);
    assert.throws(() => given([]).when(add(5000)).thenThrows('validation_failed'), isAssertion);
  });

  it('reports a refusal that is not a DomainError as it is', () => {
    // The error itself is kept on the AssertionError, so a failing spec shows what really happened.
    let caught: unknown;
    try {
      given([]).when(add(5000)).thenThrows('validation_failed');
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof assert.AssertionError);
    assert.ok(caught.actual instanceof Error && !(caught.actual instanceof DomainError));
  });

  it('lets a history set when its events happened', () => {
    const history = given([added(1), ...happenedAt(T0 + 60 * MINUTE, [added(2), added(3)]), added(4)]);
    assert.deepEqual(history.state.times, [iso(T0), iso(T0 + 60 * MINUTE), iso(T0 + 60 * MINUTE), iso(T0 + 3 * MINUTE)]);
  });

  it('folds a private state per history: deciding and continuing leave the history as it was', () => {
    const history = given([added(1)]);
    assert.equal(history.state.total, 1);
    const next = history.when(add(2)).then([added(2)]).when(add(3)).then([added(3)]);
    assert.equal(next.state.total, 6);
    assert.equal(history.state.total, 1);
    assert.deepEqual(history.state.times, [iso(T0)]);
  });
});

describe('projector specification', () => {
  // Writes the conversation's lastSeq and member count as the state right after the event has them.
  const counts: Projector = ({ conversation }) =>
    conversation
      ? [
          {
            kind: 'upsert',
            collection: 'conversations',
            key: { conversationId: conversation.conversationId },
            set: { lastSeq: conversation.lastSeq, memberCount: conversation.members.size },
          },
        ]
      : [];
  const created: ConversationEvent = {
    type: 'ConversationCreated',
    data: {
      conversationId: 'c1',
      kind: 'group',
      title: 'Team',
      createdBy: 'alice',
      members: [{ userId: 'alice', role: 'owner' }],
      homeDc: 'dc1',
    },
  };
  const bobAdded: ConversationEvent = { type: 'MemberAdded', data: { userId: 'bob', role: 'member', addedBy: 'alice' } };
  const options = { inboxPullThreshold: 500 };
  const givenConversation = ProjectorSpecification.for(counts, { kind: 'conversation', ownerId: 'c1' }, options);
  const givenUser = ProjectorSpecification.for(counts, { kind: 'user', ownerId: 'alice' }, options);
  const write = (lastSeq: number, memberCount: number) => ({
    kind: 'upsert' as const,
    collection: 'conversations' as const,
    key: { conversationId: 'c1' },
    set: { lastSeq, memberCount },
  });

  it('projects the event with the conversation state right after it', () => {
    givenConversation([created]).when(bobAdded).then([write(1, 2)]);
    assert.throws(() => givenConversation([created]).when(bobAdded).then([write(1, 1)]), isAssertion);
  });

  it('passes thenNothingHappened only when nothing is written, and hands user streams no conversation state', () => {
    givenUser([]).when({ type: 'ProfileUpdated', data: { avatar: 'a.png' } }).thenNothingHappened();
    assert.throws(() => givenConversation([]).when(created).thenNothingHappened(), isAssertion);
  });
});
