import Table from 'cli-table3';
import { Command } from 'commander';
import { AnalyticsAccumulator, type AnalyticsFigures } from '../analytics/figures.js';
import { parseStreamId } from '../domain/streams.js';
import { plain, wholeNumber, withStores } from './context.js';

const PAGE = 5000;

interface AnalyticsFlags {
  hours: number;
  days: number;
  top: number;
  json?: boolean;
}

export const analyticsCommand = () =>
  new Command('analytics')
    .description('Messages per hour, daily active senders and the busiest conversations, computed from the stored events')
    .option('--hours <n>', 'hours in the hourly series; the busiest conversations are counted over them', wholeNumber(1), 24)
    .option('--days <n>', 'days (UTC) in the daily active senders series', wholeNumber(1), 7)
    .option('--top <n>', 'how many busiest conversations to list', wholeNumber(1), 10)
    .option('--json', 'print JSON instead of tables')
    .action(async (flags: AnalyticsFlags) => {
      const figures = await withStores(async ({ store }) => {
        const acc = new AnalyticsAccumulator({ now: Date.now(), ...flags });
        for (let after = 0, page; (page = await store.readAll(after, PAGE)).length; after = page[page.length - 1]!.position) {
          for (const e of page) {
            if (e.type !== 'MessageSent') continue;
            const stream = parseStreamId(e.streamId);
            if (stream?.kind !== 'conversation') continue;
            acc.add({ conversationId: stream.id, senderId: (e.data as { senderId: string }).senderId, at: e.metadata.at });
          }
        }
        return acc.figures();
      });
      process.stdout.write(flags.json ? JSON.stringify(figures, null, 2) + '\n' : renderAnalytics(figures));
    });

export function renderAnalytics({ messagesPerHour, dailyActiveSenders, busiestConversations }: AnalyticsFigures): string {
  const hours = new Table({ head: ['hour (UTC)', 'messages'], style: plain });
  for (const h of messagesPerHour) hours.push([h.hour, h.messages]);
  const days = new Table({ head: ['day (UTC)', 'active senders'], style: plain });
  for (const d of dailyActiveSenders) days.push([d.day, d.senders]);
  const busiest = new Table({ head: ['conversation', 'messages'], style: plain });
  for (const c of busiestConversations) busiest.push([c.conversationId, c.messages]);
  return `messages per hour\n${hours}\ndaily active senders\n${days}\nbusiest conversations (last ${messagesPerHour.length} h)\n${busiest}\n`;
}
