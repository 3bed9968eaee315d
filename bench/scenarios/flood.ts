import { spawnNode, startChatServer, type ChatServer } from '../lib/proc.js';
import { Seeder } from '../lib/seed.js';
import { percentile } from '../lib/stats.js';
import { atMost } from '../lib/table.js';
import { profileArgs, type Scenario } from './types.js';

/** The default per-socket frame budget (WS_FRAME_RATE), which is what this scenario measures. */
const FRAME_RATE = 50;
/** Four fifths of the frame budget: the calm client is never refused itself. */
const PINGS_PER_SECOND = FRAME_RATE * 0.8;

/**
 * Fairness under a flood: another client's ping round trip, without and then with a flooder (its
 * own process) hammering the server past the default per-socket frame budget and reconnecting
 * each time it is closed.
 */
export const flood: Scenario = async (options, dir) => {
  const pings = options.quick ? 100 : 1000;
  const seeder = new Seeder(dir);
  const [flooder, calm] = await seeder.users(2, 'flood');
  const conversationId = await seeder.direct(flooder!, calm!);
  seeder.close();
  // The default flood control is what is measured; the harness lifts it for the other scenarios.
  const server = await startChatServer(dir, {
    nodeArgs: profileArgs(options, 'flood'),
    env: { WS_FRAME_RATE: String(FRAME_RATE), WS_FRAME_BURST: '100' },
  });
  try {
    const baseline = await roundTrips(server, calm!.token, pings);
    const flood = spawnNode('flooder', 'bench/gen/flooder.ts', { params: { wsUrl: server.wsUrl, token: flooder!.token, conversationId } });
    try {
      await flood.next('closed', 60_000);
      const underFlood = await roundTrips(server, calm!.token, pings);
      flood.send('stop');
      const { sent, closes } = await flood.next('result', 60_000);
      const note = `${pings} sequential pings, at most ${PINGS_PER_SECOND}/s`;
      return {
        rows: [
          { scenario: 'flood', metric: 'ping round trip p99, no flood', value: baseline, unit: 'ms', note },
          { scenario: 'flood', metric: 'ping round trip p99 while another client floods', value: underFlood, unit: 'ms', ...atMost(underFlood, 150), note: `${note}; the flooder sent ${sent} frames, closed ${closes} times` },
        ],
        details: { pings, baselineP99: baseline, underFloodP99: underFlood, flooderFrames: sent, flooderCloses: closes },
      };
    } finally {
      await flood.stop();
    }
  } finally {
    await server.stop();
  }
};

async function roundTrips(server: ChatServer, token: string, pings: number): Promise<number | null> {
  const intervalMs = Math.ceil(1000 / PINGS_PER_SECOND);
  const pinger = spawnNode('pinger', 'bench/gen/pinger.ts', { params: { wsUrl: server.wsUrl, token, warmup: 20, pings, intervalMs } });
  const { latencies } = await pinger.next('result', 600_000);
  return percentile(latencies, 99);
}
