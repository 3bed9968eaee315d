import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(import.meta.dirname, '..', '..');
/** Child processes get a file-descriptor limit high enough for 100k sockets (the harness runs as root or with a high hard limit). */
const FD_LIMIT = 1_048_576;

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `chat-bench-${tag}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Resident set size of a process in bytes (VmRSS from /proc). */
export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  if (!line) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(line.replace(/\D+/g, '')) * 1024;
}

/** The open-file limit a child gets (the hard limit caps it where raising it is not permitted). */
export function childFdLimit(): number {
  const out = execFileSync('bash', ['-c', `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n $(ulimit -Hn); ulimit -n`], { encoding: 'utf8' });
  return out.trim() === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(out.trim());
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** The next stdout JSON line of this kind (rejects when the child exits first or the timeout passes). */
  next(kind: string, timeoutMs: number): Promise<Record<string, any>>;
  send(line: string): void;
  /** Waits `graceMs` for the child to exit by itself, then SIGTERM, then SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number, graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Spawns `node [nodeArgs] --import tsx script` through bash, so `ulimit -n` applies to it alone.
 * JSON lines on stdout are the child's reports; stderr is passed through, prefixed.
 */
export function spawnNode(
  tag: string,
  script: string,
  options: { env?: Record<string, string>; params?: unknown; nodeArgs?: string[] } = {},
): Child {
  let paramsFile: string | undefined;
  if (options.params !== undefined) {
    paramsFile = join(mkdtempSync(join(tmpdir(), 'chat-bench-params-')), 'params.json');
    writeFileSync(paramsFile, JSON.stringify(options.params));
  }
  const nodeArgs = [...(options.nodeArgs ?? []), '--import', 'tsx', script].map(shellQuote).join(' ');
  const proc = spawn('bash', ['-c', `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n $(ulimit -Hn); exec node ${nodeArgs}`], {
    cwd: ROOT,
    env: { ...process.env, ...options.env, ...(paramsFile ? { BENCH_PARAMS: paramsFile } : {}) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const child = wrap(tag, proc);
  if (paramsFile) void child.exited.then(() => removeDir(dirname(paramsFile)));
  return child;
}

export function spawnBinary(tag: string, file: string, args: string[]): Child {
  const cmd = [file, ...args].map(shellQuote).join(' ');
  const proc = spawn('bash', ['-c', `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n $(ulimit -Hn); exec ${cmd}`], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return wrap(tag, proc);
}

function wrap(tag: string, proc: ChildProcess): Child {
  const queue: Record<string, any>[] = [];
  const waiters: { kind: string; resolve(v: Record<string, any>): void }[] = [];
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let msg: Record<string, any>;
    try {
      msg = JSON.parse(line);
    } catch {
      process.stderr.write(`[${tag}] ${line}\n`);
      return;
    }
    const i = waiters.findIndex((w) => w.kind === msg.kind);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(msg);
    else queue.push(msg);
  });
  createInterface({ input: proc.stderr! }).on('line', (line) => process.stderr.write(`[${tag}] ${line}\n`));
  proc.stdin!.on('error', () => {});
  return {
    proc,
    pid: proc.pid!,
    exited,
    next(kind, timeoutMs) {
      const i = queue.findIndex((m) => m.kind === kind);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]!);
      return new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`${tag}: no "${kind}" within ${timeoutMs} ms`)), timeoutMs);
        const waiter = {
          kind,
          resolve: (v: Record<string, any>) => {
            clearTimeout(timer);
            res(v);
          },
        };
        waiters.push(waiter);
        void exited.then((code) => {
          clearTimeout(timer);
          rej(new Error(`${tag} exited (code ${code}) before "${kind}"`));
        });
      });
    },
    send(line) {
      proc.stdin!.write(line + '\n');
    },
    async stop(timeoutMs = 10_000, graceMs = 0) {
      const gone = () => proc.exitCode !== null || proc.signalCode !== null;
      if (!gone() && graceMs > 0) await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
      if (gone()) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** Polls `url` until it answers 200, within `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs: number, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.proc.exitCode !== null) throw new Error(`${url}: the process exited (code ${child.proc.exitCode})`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

export interface ChatServer extends Child {
  port: number;
  dataDir: string;
  url: string;
  wsUrl: string;
}

export const AUTH_SECRET = 'bench-secret-bench-secret-bench-secret-0001';
/** The master key the server and the fixtures it reads share (base64 of 32 bytes). */
export const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

/** Starts the chat server (`src/main.ts`) on a free port over `dataDir`. */
export async function startChatServer(dataDir: string, options: { env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<ChatServer> {
  const port = await freePort();
  const child = spawnNode('server', 'src/main.ts', {
    nodeArgs: options.nodeArgs,
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      AUTH_SECRET,
      MASTER_KEY,
      // Load generators send far faster than a person: the per-user and per-socket limits would
      // measure 429s and refused frames, not the server.
      SEND_RATE_PER_USER: '1000000000',
      SEND_RATE_PER_IP: '1000000000',
      LOGIN_RATE_PER_IP: '1000000000',
      WS_FRAME_RATE: '1000000000',
      WS_FRAME_BURST: '1000000000',
      ...options.env,
    },
  });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000, child);
  return { ...child, port, dataDir, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/v1/ws` };
}
