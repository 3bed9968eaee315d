import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnalyticsAccumulator } from './figures.js';

const now = Date.parse('2024-03-02T10:30:00Z');
const sent = (conversationId: string, senderId: string, at: string) => ({ conversationId, senderId, at });

describe('analytics figures', () => {
  it('counts messages per hour and per conversation within the hours window, zero-filled', () => {
    const acc = new AnalyticsAccumulator({ now, hours: 3, days: 1, top: 5 });
    acc.add(sent('a', 'u1', '2024-03-02T07:59:59Z')); // before the window
    acc.add(sent('a', 'u1', '2024-03-02T08:00:00Z'));
    acc.add(sent('b', 'u2', '2024-03-02T10:10:00Z'));
    acc.add(sent('a', 'u2', '2024-03-02T10:29:00Z'));
    acc.add(sent('a', 'u2', '2024-03-02T11:00:00Z')); // after it
    const f = acc.figures();
    assert.deepEqual(f.messagesPerHour, [
      { hour: '2024-03-02T08:00Z', messages: 1 },
      { hour: '2024-03-02T09:00Z', messages: 0 },
      { hour: '2024-03-02T10:00Z', messages: 2 },
    ]);
    assert.deepEqual(f.busiestConversations, [
      { conversationId: 'a', messages: 2 },
      { conversationId: 'b', messages: 1 },
    ]);
  });

  it('counts each sender once per UTC day', () => {
    const acc = new AnalyticsAccumulator({ now, hours: 1, days: 2, top: 1 });
    acc.add(sent('a', 'u1', '2024-03-01T23:59:00Z'));
    acc.add(sent('a', 'u1', '2024-03-02T00:01:00Z'));
    acc.add(sent('b', 'u1', '2024-03-02T09:00:00Z'));
    acc.add(sent('b', 'u2', '2024-03-02T09:00:00Z'));
    assert.deepEqual(acc.figures().dailyActiveSenders, [
      { day: '2024-03-01', senders: 1 },
      { day: '2024-03-02', senders: 2 },
    ]);
  });
});
