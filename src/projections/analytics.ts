import { parseStreamId } from '../domain/streams.js';
import type { RecordedEvent } from '../eventstore/port.js';
import type { AnalyticsReport, MessageFact } from './ports.js';

/** The analytics-relevant facts in a batch of events: one per message sent. */
export function messageFacts(events: RecordedEvent[]): MessageFact[] {
  return events.flatMap((e) => {
    const stream = parseStreamId(e.streamId);
    if (stream?.kind !== 'conversation' || e.type !== 'MessageSent') return [];
    const senderId = (e.data as { senderId?: unknown }).senderId;
    if (typeof senderId !== 'string') return [];
    return [{ eventId: e.metadata.eventId, conversationId: stream.id, senderId, at: e.metadata.at }];
  });
}

export const hourOf = (at: string) => `${at.slice(0, 13)}:00Z`;
export const dayOf = (at: string) => at.slice(0, 10);

/** Sorts and trims a report the same way for every store. */
export function orderReport(report: AnalyticsReport, limit: number): AnalyticsReport {
  return {
    messagesPerHour: [...report.messagesPerHour]
      .sort((a, b) => b.hour.localeCompare(a.hour) || b.messages - a.messages || a.conversationId.localeCompare(b.conversationId))
      .slice(0, limit),
    dailyActiveSenders: [...report.dailyActiveSenders].sort((a, b) => b.day.localeCompare(a.day)).slice(0, limit),
    busiestConversations: [...report.busiestConversations]
      .sort((a, b) => b.messages - a.messages || a.conversationId.localeCompare(b.conversationId))
      .slice(0, limit),
  };
}
