import { spawnNode, startChatServer } from '../lib/proc.js';
import { Seeder } from '../lib/seed.js';
import { percentile } from '../lib/stats.js';
import { atMost } from '../lib/table.js';
import { profileArgs, type Scenario } from './types.js';

const CONVERSATIONS = 1000;

/** `GET /v1/conversations` (first page, default limit) for a user with 1,000 conversations, each with a message. */
export const convlist: Scenario = async (options, dir) => {
  const requests = options.quick ? 200 : 2000;
  const seeder = new Seeder(dir);
  const [me] = await seeder.users(1, 'me');
  const peers = await seeder.users(CONVERSATIONS, 'peer', false);
  for (const [i, peer] of peers.entries()) {
    const id = await seeder.direct(me!, peer);
    await seeder.send(i % 2 ? me! : peer, id, `hello ${i}`);
  }
  seeder.close();
  const server = await startChatServer(dir, { nodeArgs: profileArgs(options, 'convlist') });
  try {
    // The server projects the seeded events on start; wait until the list is complete.
    await waitForList(server.url, me!.token, CONVERSATIONS);
    const gen = spawnNode('convlist-gen', 'bench/gen/convlist.ts', { params: { url: server.url, token: me!.token, warmup: 100, requests } });
    const r = await gen.next('result', 600_000);
    const p50 = percentile(r.latencies, 50);
    const p99 = percentile(r.latencies, 99);
    return {
      rows: [
        { scenario: 'conv list', metric: 'GET /v1/conversations p50', value: p50, unit: 'ms', note: `${CONVERSATIONS} conversations, page of ${r.itemsPerPage}` },
        { scenario: 'conv list', metric: 'GET /v1/conversations p99', value: p99, unit: 'ms', ...atMost(p99, 10), note: `${requests} sequential requests` },
      ],
      details: { requests, p50, p99, itemsPerPage: r.itemsPerPage },
    };
  } finally {
    await server.stop();
  }
};

async function waitForList(url: string, token: string, expected: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    let count = 0;
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await fetch(`${url}/v1/conversations?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as { items: unknown[]; nextCursor: string | null };
      count += body.items.length;
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    if (count >= expected) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the conversation list did not reach ${expected} within 120 s`);
}
