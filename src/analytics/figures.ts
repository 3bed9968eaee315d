/**
 * The analytics figures (messages per hour, daily active senders, busiest conversations) as a
 * fold over sent messages: the same numbers whether the messages come from the embedded event
 * store (`im analytics`) or from an event feed consumer.
 */

export interface SentMessage {
  conversationId: string;
  senderId: string;
  at: string;
}

export interface AnalyticsWindow {
  /** The end of both windows, in epoch milliseconds. */
  now: number;
  /** Hours in the hourly series (ending with the current hour); busiest conversations count within it. */
  hours: number;
  /** Days in the daily series (ending with the current UTC day). */
  days: number;
  /** How many busiest conversations to list. */
  top: number;
}

export interface AnalyticsFigures {
  messagesPerHour: { hour: string; messages: number }[];
  dailyActiveSenders: { day: string; senders: number }[];
  busiestConversations: { conversationId: string; messages: number }[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
const hourKey = (ms: number) => new Date(ms).toISOString().slice(0, 13) + ':00Z';
const dayKey = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export class AnalyticsAccumulator {
  private readonly firstHour: number;
  private readonly firstDay: number;
  private readonly end: number;
  private readonly perHour = new Map<string, number>();
  private readonly sendersPerDay = new Map<string, Set<string>>();
  private readonly perConversation = new Map<string, number>();

  constructor(private readonly window: AnalyticsWindow) {
    this.firstHour = floorTo(window.now, HOUR) - (window.hours - 1) * HOUR;
    this.firstDay = floorTo(window.now, DAY) - (window.days - 1) * DAY;
    this.end = floorTo(window.now, HOUR) + HOUR;
  }

  add({ conversationId, senderId, at }: SentMessage): void {
    const t = Date.parse(at);
    if (!(t < this.end)) return;
    if (t >= this.firstHour) {
      const hour = hourKey(t);
      this.perHour.set(hour, (this.perHour.get(hour) ?? 0) + 1);
      this.perConversation.set(conversationId, (this.perConversation.get(conversationId) ?? 0) + 1);
    }
    if (t >= this.firstDay) {
      const day = dayKey(t);
      let senders = this.sendersPerDay.get(day);
      if (!senders) this.sendersPerDay.set(day, (senders = new Set()));
      senders.add(senderId);
    }
  }

  /** Every hour and day of the windows, oldest first, zero where nothing was sent. */
  figures(): AnalyticsFigures {
    const { hours, days, top } = this.window;
    return {
      messagesPerHour: Array.from({ length: hours }, (_, i) => {
        const hour = hourKey(this.firstHour + i * HOUR);
        return { hour, messages: this.perHour.get(hour) ?? 0 };
      }),
      dailyActiveSenders: Array.from({ length: days }, (_, i) => {
        const day = dayKey(this.firstDay + i * DAY);
        return { day, senders: this.sendersPerDay.get(day)?.size ?? 0 };
      }),
      busiestConversations: [...this.perConversation]
        .map(([conversationId, messages]) => ({ conversationId, messages }))
        .sort((a, b) => b.messages - a.messages || a.conversationId.localeCompare(b.conversationId))
        .slice(0, top),
    };
  }
}
