/**
 * Two datacenters on this machine, without Docker: a KRaft broker per DC (test/infra/kafka.sh),
 * MirrorMaker 2 in dedicated mode copying each DC's topic to the other, one app process per DC with
 * its own DATA_DIR, and a TCP proxy on each direction of the internal HTTP link, so a test can
 * break any of them: the faults below.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, fstatSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ApiClient } from './client.js';
import { freePort } from './process.js';
import { startTcpProxy, type CutMode, type TcpProxy } from './tcpProxy.js';
import { eventually } from './waits.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KAFKA_SH = join(REPO_ROOT, 'test/infra/kafka.sh');
/** Where test/infra keeps the Kafka jars it fetched (the same override as its scripts). */
const INFRA_CACHE = process.env.INFRA_CACHE_DIR ?? join(REPO_ROOT, '.cache/infra');

export const DC_IDS = ['dc1', 'dc2'] as const;
export type DcId = (typeof DC_IDS)[number];
export const otherDc = (dc: DcId): DcId => (dc === 'dc1' ? 'dc2' : 'dc1');

/** Sends, logins and frames as fast as the workloads go: rate limits are not what these suites test. */
const UNLIMITED = {
  SEND_RATE_PER_USER: '1000000000',
  SEND_RATE_PER_IP: '1000000000',
  LOGIN_RATE_PER_USER: '1000000000',
  LOGIN_RATE_PER_IP: '1000000000',
  WS_FRAME_RATE: '1000000000',
  WS_FRAME_BURST: '1000000000',
};

export interface StackOptions {
  /** Public ports of the apps; free ports when left out. */
  ports?: Partial<Record<DcId, number>>;
  /** Extra app settings, the same in both DCs. */
  env?: Record<string, string>;
  /** Where data and logs go; a fresh temp dir (removed on stop) when left out. */
  workDir?: string;
  /** Progress lines ("dc1 app ready"); silent when left out. */
  log?: (line: string) => void;
}

export interface Datacenter {
  id: DcId;
  url: string;
  wsUrl: string;
  api: ApiClient;
  /** The app's DATA_DIR: chat.db holds this DC's event store and read models. */
  dataDir: string;
  brokers: string;
}

export interface MultiDc {
  dc: Record<DcId, Datacenter>;
  workDir: string;
  adminToken: string;
  /** Both DCs' MASTER_KEY: what opens the personal data in their stores. */
  masterKey: string;
  killMirrorMaker(): Promise<void>;
  startMirrorMaker(): Promise<void>;
  /** A clean broker shutdown and a start on the same data; resolves once it serves again. */
  restartBroker(dc: DcId): Promise<void>;
  /** SIGKILL; the DC's data stays for startApp. */
  killApp(dc: DcId): Promise<void>;
  startApp(dc: DcId): Promise<void>;
  /** Both directions of the internal link cut and MirrorMaker frozen, until heal(). */
  partition(mode?: CutMode): Promise<void>;
  heal(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs `test/infra/kafka.sh <command>` for one broker; rejects with its output when it fails. */
async function kafkaScript(command: 'start' | 'restart' | 'stop', port: number, owner: string): Promise<void> {
  const child = spawn('bash', [KAFKA_SH, command], {
    env: { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 1), INFRA_OWNER: owner },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`kafka.sh ${command} on port ${port} failed (${code}):\n${output}`);
}

/** A free port whose successor is free too: a broker takes both (listener and KRaft controller). */
export async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const next = createServer().listen(port + 1, '127.0.0.1');
    const free = await new Promise<boolean>((resolve) => {
      next.once('listening', () => resolve(true));
      next.once('error', () => resolve(false));
    });
    if (free) {
      await new Promise((resolve) => next.close(resolve));
      return port;
    }
  }
}

/**
 * MirrorMaker 2 between the two local brokers, configured like deploy/mm2.properties, tuned so a
 * copy takes milliseconds rather than seconds.
 */
function mirrorMakerProperties(brokers: Record<DcId, string>): string {
  return `clusters = dc1, dc2
dc1.bootstrap.servers = ${brokers.dc1}
dc2.bootstrap.servers = ${brokers.dc2}
dc1->dc2.enabled = true
dc1->dc2.topics = im\\\\.dc1\\\\.events
dc2->dc1.enabled = true
dc2->dc1.topics = im\\\\.dc2\\\\.events
replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy
# A DC's topic appears when its app starts; the copy must follow within a second, not ten.
refresh.topics.interval.seconds = 1
# Nothing here reads checkpoints or heartbeats: leave the two small machines' CPUs to the copy.
emit.checkpoints.enabled = false
emit.heartbeats.enabled = false
sync.group.offsets.enabled = false
sync.topic.acls.enabled = false
# Send each record at once and answer a fetch as soon as anything arrived.
dc1.producer.linger.ms = 0
dc2.producer.linger.ms = 0
dc1.consumer.fetch.max.wait.ms = 100
dc2.consumer.fetch.max.wait.ms = 100
replication.factor = 1
checkpoints.topic.replication.factor = 1
heartbeats.topic.replication.factor = 1
offset-syncs.topic.replication.factor = 1
offset.storage.replication.factor = 1
status.storage.replication.factor = 1
config.storage.replication.factor = 1
`;
}

const LOG4J = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.org.reflections=ERROR
`;

/** What a log file gained since byte `offset`. */
function readFrom(file: string, offset: number): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.max(0, fstatSync(fd).size - offset));
    readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * A child process whose output is appended to `logFile` (kept across restarts); resolves once
 * `ready` holds, rejects if it exits first.
 */
async function launch(
  what: string,
  command: string,
  args: string[],
  options: { env: Record<string, string | undefined>; logFile: string; cwd?: string },
  ready: (log: () => string) => Promise<boolean>,
): Promise<ChildProcess> {
  const fd = openSync(options.logFile, 'a');
  const startedAt = fstatSync(fd).size;
  const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const ownLog = () => readFrom(options.logFile, startedAt);
  let exited = false;
  child.once('exit', () => (exited = true));
  await eventually(`${what} to start (log: ${options.logFile})`, async () => exited || (await ready(ownLog)), Boolean);
  if (exited) throw new Error(`${what} exited during start-up:\n${ownLog().slice(-4000)}`);
  return child;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

const running = (child: ChildProcess | null | undefined): child is ChildProcess =>
  !!child && child.exitCode === null && child.signalCode === null;

async function killHard(child: ChildProcess | null | undefined): Promise<void> {
  if (!running(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** How long a stopping app may take to close cleanly before it is killed. */
const APP_STOP_GRACE_MS = 10_000;

async function stopGracefully(child: ChildProcess | null | undefined): Promise<void> {
  if (!running(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), APP_STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts both brokers (in parallel), MirrorMaker 2, the link proxies and both apps. Everything is
 * stopped by stop(), and by a last-resort cleanup when the process exits or is signalled first.
 */
export async function startMultiDc(options: StackOptions = {}): Promise<MultiDc> {
  const log = options.log ?? (() => undefined);
  const ownWorkDir = !options.workDir;
  const workDir = options.workDir ?? join(tmpdir(), `chat-multidc-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(workDir, { recursive: true });
  const owner = `multidc-${process.pid}-${randomBytes(4).toString('hex')}`;
  const adminToken = randomBytes(16).toString('hex');
  const secrets = { AUTH_SECRET: randomBytes(24).toString('hex'), DC_LINK_SECRET: randomBytes(24).toString('hex'), MASTER_KEY: randomBytes(32).toString('base64') };

  const brokerPorts = {} as Record<DcId, number>;
  for (const id of DC_IDS) brokerPorts[id] = await freePortPair();
  const appPorts = {} as Record<DcId, number>;
  for (const id of DC_IDS) appPorts[id] = options.ports?.[id] ?? (await freePort());
  const brokers = Object.fromEntries(DC_IDS.map((id) => [id, `127.0.0.1:${brokerPorts[id]}`])) as Record<DcId, string>;
  /** The proxy in front of a DC's app: what the other DC's link connects to. */
  const inFrontOf = {} as Record<DcId, TcpProxy>;
  const apps: Partial<Record<DcId, ChildProcess>> = {};
  let mirrorMaker: ChildProcess | null = null;
  const startedBrokers = new Set<DcId>();

  const removeWorkDir = () => {
    if (ownWorkDir && !process.env.MULTIDC_KEEP_DIR) rmSync(workDir, { recursive: true, force: true });
  };
  // Synchronous, so it also runs on an exit or a signal that leaves no time for stop(): brokers
  // run in sessions of their own and would outlive this process otherwise.
  const stopNow = () => {
    for (const child of [mirrorMaker, ...Object.values(apps)]) if (running(child)) child.kill('SIGKILL');
    for (const id of startedBrokers) {
      spawnSync('bash', [KAFKA_SH, 'stop'], {
        env: { ...process.env, KAFKA_PORT: String(brokerPorts[id]), INFRA_OWNER: owner, KAFKA_STOP_GRACE: '1' },
        stdio: 'ignore',
      });
    }
    removeWorkDir();
  };
  const SIGNAL_EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  const onSignal = (signal: NodeJS.Signals) => {
    stopNow();
    process.exit(SIGNAL_EXIT_CODES[signal]);
  };
  process.once('exit', stopNow);
  for (const signal of Object.keys(SIGNAL_EXIT_CODES)) process.once(signal, onSignal);

  const mm2Dir = join(workDir, 'mirrormaker');
  mkdirSync(mm2Dir, { recursive: true });
  writeFileSync(join(mm2Dir, 'mm2.properties'), mirrorMakerProperties(brokers));
  writeFileSync(join(mm2Dir, 'log4j.properties'), LOG4J);

  const startMirrorMaker = async () => {
    mirrorMaker = await launch(
      'MirrorMaker 2',
      'java',
      [
        '-Xmx384m',
        '-XX:+UseG1GC',
        '-Djava.awt.headless=true',
        `-Dlog4j.configuration=file:${join(mm2Dir, 'log4j.properties')}`,
        '-cp',
        `${join(INFRA_CACHE, 'kafka-libs')}/*`,
        'org.apache.kafka.connect.mirror.MirrorMaker',
        join(mm2Dir, 'mm2.properties'),
      ],
      { env: process.env, cwd: mm2Dir, logFile: join(workDir, 'mirrormaker.log') },
      async (ownLog) => ownLog().includes('Kafka MirrorMaker started'),
    );
    log('MirrorMaker 2 ready');
  };

  const appEnv = (id: DcId): Record<string, string | undefined> => {
    const other = otherDc(id);
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'info',
      ...UNLIMITED,
      ...options.env,
      ...secrets,
      ADMIN_TOKEN: adminToken,
      HOST: '127.0.0.1',
      PORT: String(appPorts[id]),
      DATA_DIR: join(workDir, id),
      DC_ID: id,
      REPLICATION: 'kafka',
      KAFKA_BROKERS: brokers[id],
      DC_PEERS: `${other}=${inFrontOf[other].url}`,
      DC_PUBLIC_URLS: DC_IDS.map((dc) => `${dc}=http://127.0.0.1:${appPorts[dc]}`).join(','),
    };
  };

  const startApp = async (id: DcId) => {
    mkdirSync(join(workDir, id), { recursive: true });
    apps[id] = await launch(
      `${id}'s app`,
      process.execPath,
      ['--import', 'tsx', 'src/main.ts'],
      { env: appEnv(id), cwd: REPO_ROOT, logFile: join(workDir, `${id}-app.log`) },
      () => answers(`http://127.0.0.1:${appPorts[id]}/healthz`),
    );
    log(`${id} app ready on http://127.0.0.1:${appPorts[id]}`);
  };

  const stop = async () => {
    await killHard(mirrorMaker);
    mirrorMaker = null;
    await Promise.all(
      DC_IDS.map(async (id) => {
        await stopGracefully(apps[id]);
        await inFrontOf[id]?.close();
      }),
    );
    await Promise.all([...startedBrokers].map((id) => kafkaScript('stop', brokerPorts[id], owner)));
    startedBrokers.clear();
    process.off('exit', stopNow);
    for (const signal of Object.keys(SIGNAL_EXIT_CODES)) process.off(signal, onSignal);
    removeWorkDir();
  };

  try {
    await Promise.all(
      DC_IDS.map(async (id) => {
        await kafkaScript('start', brokerPorts[id], owner);
        startedBrokers.add(id);
        log(`${id} broker ready on ${brokers[id]}`);
      }),
    );
    for (const id of DC_IDS) inFrontOf[id] = await startTcpProxy(appPorts[id]);
    // The apps need only their own broker: MirrorMaker catches up with whatever they wrote meanwhile.
    await Promise.all([startMirrorMaker(), ...DC_IDS.map(startApp)]);
  } catch (error) {
    await stop();
    throw error;
  }

  const dc = Object.fromEntries(
    DC_IDS.map((id) => {
      const url = `http://127.0.0.1:${appPorts[id]}`;
      return [id, { id, url, wsUrl: `ws://127.0.0.1:${appPorts[id]}/v1/ws`, api: new ApiClient(url), dataDir: join(workDir, id), brokers: brokers[id] }];
    }),
  ) as Record<DcId, Datacenter>;

  return {
    dc,
    workDir,
    adminToken,
    masterKey: secrets.MASTER_KEY,
    startMirrorMaker,
    async killMirrorMaker() {
      await killHard(mirrorMaker);
      mirrorMaker = null;
    },
    async restartBroker(id) {
      await kafkaScript('restart', brokerPorts[id], owner);
    },
    async killApp(id) {
      await killHard(apps[id]);
    },
    startApp,
    async partition(mode = 'blackhole') {
      for (const id of DC_IDS) inFrontOf[id].cut(mode);
      // Frozen rather than killed: its connections and unflushed work stall as they would across a
      // broken network, and resume where they were.
      mirrorMaker?.kill('SIGSTOP');
    },
    async heal() {
      mirrorMaker?.kill('SIGCONT');
      for (const id of DC_IDS) inFrontOf[id].heal();
    },
    stop,
  };
}

/** One two-DC stack for the enclosing describe block, stopped after its tests (also when they fail). */
export function multiDcSuite(options: StackOptions = {}): { stack: MultiDc } {
  const suite = {} as { stack: MultiDc };
  before(async () => {
    suite.stack = await startMultiDc(options);
  });
  after(async () => {
    await suite.stack?.stop();
  });
  return suite;
}
