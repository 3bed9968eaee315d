import Table from 'cli-table3';
import { Command } from 'commander';
import type { AnalyticsReport } from '../projections/ports.js';
import { plain, wholeNumber, withStores } from './context.js';

interface AnalyticsFlags {
  hours: number;
  top: number;
  json?: boolean;
}

export const analyticsCommand = () =>
  new Command('analytics')
    .description(
      "The analytics consumer's figures: messages per conversation per hour, daily active senders, the busiest conversations",
    )
    .option('--hours <n>', 'look back this many hours', wholeNumber(1), 24 * 7)
    .option('--top <n>', 'rows per table at most', wholeNumber(1), 10)
    .option('--json', 'print JSON instead of tables')
    .action(async (flags: AnalyticsFlags) => {
      const since = new Date(Date.now() - flags.hours * 3600_000).toISOString();
      const report = await withStores(({ readStore }) => readStore.analytics({ since, limit: flags.top }));
      process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + '\n' : renderAnalytics(report));
    });

export function renderAnalytics({ messagesPerHour, dailyActiveSenders, busiestConversations }: AnalyticsReport): string {
  const hours = new Table({ head: ['hour (UTC)', 'conversation', 'messages'], style: plain });
  for (const h of messagesPerHour) hours.push([h.hour, h.conversationId, h.messages]);
  const days = new Table({ head: ['day (UTC)', 'active senders'], style: plain });
  for (const d of dailyActiveSenders) days.push([d.day, d.senders]);
  const busiest = new Table({ head: ['conversation', 'messages'], style: plain });
  for (const c of busiestConversations) busiest.push([c.conversationId, c.messages]);
  return `messages per hour\n${hours}\ndaily active senders\n${days}\nbusiest conversations\n${busiest}\n`;
}
