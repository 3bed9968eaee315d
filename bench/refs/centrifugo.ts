import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { ROOT, freePort, spawnBinary, waitForHttp, type Child } from '../lib/proc.js';

export const CENTRIFUGO_MODULE = 'github.com/centrifugal/centrifugo/v5';
export const CENTRIFUGO_VERSION = 'v5.4.9';
export const CENTRIFUGO_BIN = join(ROOT, '.cache', 'bench', 'bin', `centrifugo-${CENTRIFUGO_VERSION}`);
const API_KEY = 'bench-api-key';
const HMAC_SECRET = 'bench-centrifugo-hmac-secret-0001';

export interface Centrifugo extends Child {
  wsUrl: string;
  apiUrl: string;
  apiKey: string;
  version: string;
}

/**
 * Builds Centrifugo once into .cache/bench from the Go module proxy. Not `go install @latest`: the
 * proxy refuses the version list here (403), so an exact version is downloaded and built from the
 * module cache. Returns why it is unavailable, or null when the binary is ready.
 */
export function ensureCentrifugo(): string | null {
  if (existsSync(CENTRIFUGO_BIN)) return null;
  try {
    const info = JSON.parse(
      execFileSync('go', ['mod', 'download', '-json', `${CENTRIFUGO_MODULE}@${CENTRIFUGO_VERSION}`], { encoding: 'utf8', timeout: 300_000 }),
    ) as { Dir?: string; Error?: string };
    if (!info.Dir) return `go mod download failed: ${info.Error ?? 'no module directory'}`;
    mkdirSync(join(ROOT, '.cache', 'bench', 'bin'), { recursive: true });
    process.stderr.write(`building Centrifugo ${CENTRIFUGO_VERSION} (first run only, several minutes on 2 cores) ...\n`);
    execFileSync('go', ['build', '-buildvcs=false', '-o', CENTRIFUGO_BIN, '.'], { cwd: info.Dir, stdio: 'inherit', timeout: 1_800_000 });
    return null;
  } catch (error) {
    return `could not build Centrifugo: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  }
}

/**
 * Centrifugo v5 with the honest equivalent of our setup: clients authenticate with an HS256 JWT,
 * subscribe to one channel per group, and the server API publishes (memory engine, no history).
 */
export async function startCentrifugo(dir: string): Promise<Centrifugo> {
  const port = await freePort();
  const config = join(dir, 'centrifugo.json');
  writeFileSync(
    config,
    JSON.stringify({
      token_hmac_secret_key: HMAC_SECRET,
      api_key: API_KEY,
      allow_subscribe_for_client: true,
      health: true,
      log_level: 'error',
      address: '127.0.0.1',
      port: String(port),
    }),
  );
  const child = spawnBinary('centrifugo', CENTRIFUGO_BIN, ['--config', config]);
  await waitForHttp(`http://127.0.0.1:${port}/health`, 30_000, child);
  return {
    ...child,
    wsUrl: `ws://127.0.0.1:${port}/connection/websocket`,
    apiUrl: `http://127.0.0.1:${port}/api/publish`,
    apiKey: API_KEY,
    version: CENTRIFUGO_VERSION,
  };
}

export function centrifugoToken(userId: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setExpirationTime(Math.floor(Date.now() / 1000) + 24 * 3600)
    .sign(new TextEncoder().encode(HMAC_SECRET));
}
