import { Command } from 'commander';
import { z } from 'zod';
import { conversationStream } from '../domain/streams.js';
import type { RecordedEvent } from '../eventstore/port.js';
import { CliError, withStores } from './context.js';
import { interruptible } from './rebuild.js';

const PAGE = 1000;
const conversationId = z.string().min(1).max(128);

/** One timeline line: seq, time, type and the event's data. */
export function timelineLine(e: RecordedEvent, json: boolean): string {
  if (json) return JSON.stringify({ seq: e.revision, position: e.position, type: e.type, at: e.metadata.at, data: e.data });
  return `${String(e.revision).padStart(6)}  ${e.metadata.at}  ${e.type.padEnd(20)}  ${JSON.stringify(e.data)}`;
}

export const eventsCommand = () =>
  new Command('events')
    .description("Print a conversation's timeline by seq, every event of its stream (for support and debugging)")
    .argument('<conversationId>', 'the conversation')
    .option('--follow', 'keep printing new events as they are stored, until Ctrl-C')
    .option('--json', 'one JSON object per line')
    .action(async (id: string, { follow, json }: { follow?: boolean; json?: boolean }) => {
      const parsed = conversationId.safeParse(id);
      if (!parsed.success) throw new CliError(`conversation id must be 1 to 128 characters`);
      await withStores(async ({ store }) => {
        const stream = conversationStream(parsed.data);
        const print = (e: RecordedEvent) => process.stdout.write(timelineLine(e, Boolean(json)) + '\n');
        let last: RecordedEvent | undefined;
        for (let page; (page = await store.readStream(stream, { fromRevision: (last?.revision ?? -1) + 1, maxCount: PAGE })).length; ) {
          page.forEach(print);
          last = page[page.length - 1];
        }
        if (!last) throw new CliError(`no conversation ${parsed.data}`);
        if (!follow) return;
        // Following the global feed from the last printed event: nothing between is skipped.
        await interruptible(async (signal) => {
          const subscription = store.subscribeAll({ after: last.position }, (batch) => {
            for (const e of batch) if (e.streamId === stream) print(e);
          });
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          await subscription.close();
        });
      });
    });
