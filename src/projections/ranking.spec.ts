import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConversationDoc, ConversationListItem, UserConversationDoc } from './model.js';
import { compareRanks, rankOf, type Rank } from './ranking.js';

const rank = (conversationId: string, lastActivityAt: string, pinned = false): Rank => ({ pinned, lastActivityAt, conversationId });

describe('compareRanks', () => {
  it('lists pinned conversations first, whatever their activity', () => {
    assert.ok(compareRanks(rank('a', '2024-01-01', true), rank('b', '2024-06-01')) < 0);
  });
  it('then the latest activity first', () => {
    assert.ok(compareRanks(rank('a', '2024-06-01'), rank('b', '2024-01-01')) < 0);
    assert.ok(compareRanks(rank('a', '2024-01-01', true), rank('b', '2024-06-01', true)) > 0);
  });
  it('breaks ties by conversation id, descending, so the order is total', () => {
    assert.ok(compareRanks(rank('b', '2024-01-01'), rank('a', '2024-01-01')) < 0);
    assert.equal(compareRanks(rank('a', '2024-01-01'), rank('a', '2024-01-01')), 0);
  });
  it('sorts a list into pages that a cursor continues without a gap or a repeat', () => {
    const ranks = [rank('a', '2024-01-02'), rank('b', '2024-01-01', true), rank('c', '2024-01-02'), rank('d', '2024-01-03')];
    const sorted = [...ranks].sort(compareRanks).map((r) => r.conversationId);
    assert.deepEqual(sorted, ['b', 'd', 'c', 'a']);
    const cursor = ranks.find((r) => r.conversationId === 'd')!;
    assert.deepEqual(
      ranks.filter((r) => compareRanks(r, cursor) > 0).sort(compareRanks).map((r) => r.conversationId),
      ['c', 'a'],
    );
  });
});

describe('rankOf', () => {
  const conversation = { conversationId: 'c1', lastActivityAt: '2024-06-01' } as ConversationDoc;
  const membership = { conversationId: 'c1', pinned: true, frozen: null } as UserConversationDoc;
  it('ranks a member by the conversation\'s last activity', () => {
    assert.deepEqual(rankOf({ conversation, membership }), rank('c1', '2024-06-01', true));
  });
  it('ranks a former member by the activity when they left', () => {
    const item: ConversationListItem = {
      conversation,
      membership: { ...membership, frozen: { lastSeq: 3, lastMessage: null, lastActivityAt: '2024-02-01', messageCount: 1 } },
    };
    assert.equal(rankOf(item).lastActivityAt, '2024-02-01');
  });
});
