import { AUTH_SECRET, childFdLimit, rssBytes, spawnNode, startChatServer } from '../lib/proc.js';
import { sleep } from '../lib/child.js';
import { atLeast, atMost, type Row } from '../lib/table.js';
import { profileArgs, split, type Scenario } from './types.js';

const HEARTBEAT_MS = 5000;
const PER_GENERATOR = 15_000;
/** File descriptors the server needs besides sockets (database, WAL, listener, stdio). */
const FD_RESERVE = 200;
/** One loopback source address has ~28k ephemeral ports; 16 cover 100k sockets with room to spare. */
const LOCAL_ADDRESSES = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 2}`);
const GIB = 2 ** 30;
const TARGET_SOCKETS = 100_000;

/** Idle authenticated sockets with heartbeats: how many the server holds, and its RSS per socket. */
export const idle: Scenario = async (options, dir) => {
  const wanted = Math.floor(options.clients ?? (options.quick ? 5000 : TARGET_SOCKETS));
  // Where the open-file limit cannot be raised (a container without CAP_SYS_RESOURCE), the server
  // can hold at most that many sockets: open that many, say so, and extrapolate the rest.
  const fdLimit = childFdLimit();
  const count = Math.min(wanted, fdLimit - FD_RESERVE);
  const capped = count < wanted ? `capped at the open-file limit ${fdLimit} (wanted ${wanted})` : null;
  if (capped) process.stderr.write(`idle: ${capped}\n`);
  const server = await startChatServer(dir, { env: { HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) }, nodeArgs: profileArgs(options, 'idle') });
  try {
    await sleep(1000);
    const baseline = rssBytes(server.pid);
    const shares = split(Array.from({ length: count }, (_, i) => i), Math.ceil(count / PER_GENERATOR)).map((s) => s.length);
    const gens = shares.map((n, i) =>
      spawnNode(`idle-gen${i}`, 'bench/gen/idle.ts', {
        nodeArgs: ['--max-old-space-size=4096'],
        params: {
          wsUrl: server.wsUrl,
          count: n,
          localAddresses: LOCAL_ADDRESSES.slice(i * 2).concat(LOCAL_ADDRESSES.slice(0, i * 2)),
          secret: AUTH_SECRET,
          concurrency: 200,
        },
      }),
    );
    try {
      const t0 = performance.now();
      const ready = await Promise.all(gens.map((g) => g.next('ready', 600_000)));
      const connectSeconds = (performance.now() - t0) / 1000;
      const opened = ready.reduce((n, r) => n + r.open, 0);
      const failed = ready.reduce((n, r) => n + r.failed, 0);
      if (failed) process.stderr.write(`idle: ${failed} sockets failed to open, e.g. ${ready.find((r) => r.firstError)?.firstError}\n`);
      // Two full heartbeat rounds: every socket has been pinged and has answered (or been dropped).
      await sleep(2 * HEARTBEAT_MS + 1000);
      for (const g of gens) g.send('check');
      const checked = await Promise.all(gens.map((g) => g.next('checked', 60_000)));
      const held = checked.reduce((n, r) => n + r.open, 0);
      const pings = checked.reduce((n, r) => n + r.pings, 0);
      const rss = rssBytes(server.pid);
      const perSocket = held > 0 ? (rss - baseline) / held : null;
      const extrapolated = perSocket === null ? null : (baseline + perSocket * TARGET_SOCKETS) / GIB;
      const measuredAll = held >= TARGET_SOCKETS;
      const rows: Row[] = [
        { scenario: 'idle', metric: 'sockets held after 2 heartbeats', value: held, unit: 'sockets', ...atLeast(held, TARGET_SOCKETS), note: `${opened} opened, ${failed} failed, ${pings} pings answered${capped ? '; ' + capped : ''}` },
        { scenario: 'idle', metric: 'server RSS', value: rss / GIB, unit: 'GiB', note: `baseline ${(baseline / 2 ** 20).toFixed(0)} MiB` },
        { scenario: 'idle', metric: 'RSS per socket', value: perSocket === null ? null : perSocket / 1024, unit: 'KiB' },
        {
          scenario: 'idle',
          metric: measuredAll ? 'RSS at 100k sockets' : 'RSS at 100k sockets (extrapolated)',
          value: measuredAll ? rss / GIB : extrapolated,
          unit: 'GiB',
          ...atMost(measuredAll ? rss / GIB : extrapolated, 3),
          note: measuredAll ? 'measured' : `extrapolated linearly from ${held} sockets`,
        },
        { scenario: 'idle', metric: 'connect rate', value: opened / connectSeconds, unit: 'sockets/s' },
      ];
      return { rows, details: { wanted, fdLimit, count, opened, failed, held, pings, baselineBytes: baseline, rssBytes: rss, connectSeconds } };
    } finally {
      for (const g of gens) g.send('stop');
      await Promise.all(gens.map((g) => g.stop(30_000)));
    }
  } finally {
    await server.stop(60_000);
  }
};
