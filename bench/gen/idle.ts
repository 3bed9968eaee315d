import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { TokenService } from '../../src/api/auth.js';
import { params, pool, report, waitForCommand } from '../lib/child.js';

/**
 * Opens `count` authenticated sockets and keeps them idle; the ws client answers the server's
 * heartbeat pings by itself. Sockets spread over several loopback source addresses, since one
 * address has only ~28k ephemeral ports. Each socket is a distinct user with its own signed token.
 */
interface Params {
  wsUrl: string;
  count: number;
  localAddresses: string[];
  secret: string;
  concurrency: number;
}

const p = params<Params>();
// The generator only signs tokens; the server under test checks revocations.
const tokens = new TokenService(new TextEncoder().encode(p.secret), 24 * 3600, { revoke: async () => {}, isRevoked: async () => false });
const sockets: WebSocket[] = [];
let failed = 0;
let firstError = '';
let pings = 0;
let closed = 0;

function open(i: number): Promise<void> {
  return tokens.issue(randomUUID()).then(
    (token) =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(`${p.wsUrl}?token=${encodeURIComponent(token)}`, {
          perMessageDeflate: false,
          localAddress: p.localAddresses[i % p.localAddresses.length],
          handshakeTimeout: 30_000,
        });
        ws.once('open', () => {
          sockets.push(ws);
          resolve();
        });
        ws.once('error', (err) => {
          failed++;
          firstError ||= err.message;
          resolve();
        });
        ws.on('ping', () => pings++);
        ws.on('close', () => closed++);
      }),
  );
}

async function main(): Promise<void> {
  const t0 = performance.now();
  let done = 0;
  await pool(
    Array.from({ length: p.count }, (_, i) => i),
    p.concurrency,
    async (i) => {
      await open(i);
      if (++done % 10_000 === 0) process.stderr.write(`${done}/${p.count} sockets\n`);
    },
  );
  await report('ready', { open: sockets.length, failed, firstError, seconds: (performance.now() - t0) / 1000 });
  await waitForCommand('check');
  const open_ = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
  await report('checked', { open: open_, closed, pings });
  await waitForCommand('stop');
  for (const s of sockets) s.terminate();
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
