import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { MongoClient } from 'mongodb';
import { MongoKeyStore } from '../../src/privacy/mongoKeyStore.js';
import { projectionNames } from '../../src/projections/projectors.js';
import { MongoReadStore } from '../../src/projections/stores/mongo.js';
import { PUBLISHER_CHECKPOINT } from '../../src/replication/publisher.js';
import { freePortPair } from '../../test/support/multidc.js';
import { freePort, ROOT, startChatServer } from '../lib/proc.js';
import { Seeder } from '../lib/seed.js';
import { atLeast, type Row } from '../lib/table.js';
import { pairLoadSize, phase, seedPairs } from './direct.js';
import { profileArgs, type Scenario } from './types.js';

/** Well below the saturation goal: the latencies are those of a server keeping up. */
const OFFERED_RATE = 1000;
const SATURATION_GOAL = 2000;
const CATCH_UP_TIMEOUT_MS = 120_000;

/**
 * 1:1 sends on the distributed profile: read models in a MongoDB-wire server (FerretDB), every event
 * published to Kafka. The event store stays SQLite (the fixtures are seeded into it, and there is no
 * EventStoreDB server here); the projections build the Mongo read models from the seeded events at
 * start, and the load waits until they and the Kafka publisher have caught up. Then the same
 * generator and phases as `direct`: a fixed offered rate, and the closed-loop saturation point.
 */
export const distributed: Scenario = async (options, dir) => {
  const { pairs, seconds, warmupMs } = pairLoadSize(options);
  const infra = await startInfra();
  try {
    const id = randomUUID().slice(0, 8);
    const mongoUrl = `${infra.mongoUrl.replace(/\/?$/, '/')}chat_bench_${id}`;
    // The users' keys go where this profile keeps them: next to the read models.
    const keysDb = await MongoClient.connect(mongoUrl);
    const seeder = new Seeder(dir, new MongoKeyStore(keysDb.db()));
    const fixtures = await seedPairs(seeder, pairs);
    const seededHead = await seeder.store.headPosition();
    seeder.close();
    await keysDb.close();
    const startedAt = performance.now();
    const server = await startChatServer(dir, {
      nodeArgs: profileArgs(options, 'distributed'),
      env: {
        EVENT_STORE: 'sqlite',
        READ_STORE: 'mongo',
        MONGO_URL: mongoUrl,
        REPLICATION: 'kafka',
        KAFKA_BROKERS: infra.kafkaBrokers,
        // The topic is named after the datacenter: a fresh id keeps this run's events and consumer
        // groups apart from earlier runs on a shared broker.
        DC_ID: `bench-${id}`,
        REDIS_KEY_PREFIX: `bench-${id}:`,
      },
    });
    const serverUpSeconds = (performance.now() - startedAt) / 1000;
    try {
      const catchUp = await caughtUp(mongoUrl, seededHead, startedAt);
      process.stderr.write(
        `distributed: ${seededHead} seeded events in the read models ${catchUp.readModels.toFixed(1)} s after start, past the Kafka publisher after ${catchUp.publisher.toFixed(1)} s\n`,
      );
      const rate = await phase(server, fixtures, options.genProcs, { mode: 'rate', rate: OFFERED_RATE, window: 0, warmupMs, durationMs: seconds * 1000 });
      process.stderr.write(`distributed: ${Math.round(rate.sendsPerSec)} sends/s at ${OFFERED_RATE} offered, p99 ${rate.p99} ms\n`);
      const sat = await phase(server, fixtures, options.genProcs, { mode: 'saturate', rate: 0, window: 8, warmupMs, durationMs: seconds * 1000 });
      process.stderr.write(`distributed: ${Math.round(sat.sendsPerSec)} sends/s at saturation\n`);
      const stack = `event store SQLite, ${infra.description}, ${process.env.REDIS_URL ? 'Redis at REDIS_URL' : 'no Redis (one instance)'}`;
      const rows: Row[] = [
        { scenario: 'distributed', metric: 'durable sends/s at saturation', value: sat.sendsPerSec, unit: 'msg/s', ...atLeast(sat.sendsPerSec, SATURATION_GOAL), note: `${pairs * 2} clients, 8 unacked per client; ${stack}` },
        { scenario: 'distributed', metric: `send->receive p50 at ${OFFERED_RATE} msg/s`, value: rate.p50, unit: 'ms', note: `${Math.round(rate.sendsPerSec)} msg/s acked` },
        { scenario: 'distributed', metric: `send->receive p99 at ${OFFERED_RATE} msg/s`, value: rate.p99, unit: 'ms' },
        { scenario: 'distributed', metric: 'start -> read models caught up', value: catchUp.readModels, unit: 's', note: `${seededHead} seeded events; the server answered /healthz after ${serverUpSeconds.toFixed(1)} s` },
        { scenario: 'distributed', metric: 'start -> Kafka publisher caught up', value: catchUp.publisher, unit: 's', note: 'connecting to Kafka and creating the topic included' },
      ];
      return { rows, details: { pairs, seconds, seededEvents: seededHead, serverUpSeconds, catchUpSeconds: catchUp, stack, rate, saturation: sat } };
    } finally {
      await server.stop();
    }
  } finally {
    await infra.stop();
  }
};

/**
 * Waits until every projection and the Kafka publisher have passed `head`, so the read models hold
 * the fixtures and the publisher is connected to Kafka before any load is measured. Answers when
 * each got there, in seconds since `startedAt` (a performance.now() time).
 */
async function caughtUp(mongoUrl: string, head: number, startedAt: number): Promise<{ readModels: number; publisher: number }> {
  const readStore = await MongoReadStore.connect(mongoUrl);
  try {
    const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
    const reached: { readModels?: number; publisher?: number } = {};
    for (;;) {
      const checkpoints = await readStore.checkpoints();
      const passed = (name: string) => (checkpoints[name] ?? 0) >= head;
      const now = (performance.now() - startedAt) / 1000;
      if (projectionNames.every(passed)) reached.readModels ??= now;
      if (passed(PUBLISHER_CHECKPOINT)) reached.publisher ??= now;
      if (reached.readModels !== undefined && reached.publisher !== undefined) return { readModels: reached.readModels, publisher: reached.publisher };
      if (Date.now() > deadline) {
        const behind = [...projectionNames, PUBLISHER_CHECKPOINT].filter((name) => !passed(name));
        throw new Error(`not caught up with position ${head} after ${CATCH_UP_TIMEOUT_MS} ms: ${behind.join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await readStore.close();
  }
}

interface Infra {
  kafkaBrokers: string;
  mongoUrl: string;
  /** Which servers the figures come from, for the notes. */
  description: string;
  stop(): Promise<void>;
}

type InfraScript = 'kafka.sh' | 'ferretdb.sh';

/**
 * Kafka and the MongoDB-wire server named by KAFKA_BROKERS and MONGO_URL, or, for each one not
 * named, one of our own started by test/infra on free ports, under an owner token of this run so
 * that stopping them never touches anyone else's.
 */
async function startInfra(): Promise<Infra> {
  const { KAFKA_BROKERS, MONGO_URL } = process.env;
  const kafkaPort = await freePortPair();
  const mongoPort = await freePort();
  const env = {
    INFRA_OWNER: `bench-distributed-${process.pid}-${Date.now()}`,
    KAFKA_PORT: String(kafkaPort),
    KAFKA_CONTROLLER_PORT: String(kafkaPort + 1),
    MONGO_PORT: String(mongoPort),
  };
  const ours: InfraScript[] = [...(KAFKA_BROKERS ? [] : ['kafka.sh' as const]), ...(MONGO_URL ? [] : ['ferretdb.sh' as const])];
  const stop = async () => {
    await Promise.all(ours.map((script) => infraScript(script, 'stop', env)));
  };
  // Every start runs to its end before anything is stopped: a stop racing a start could miss the
  // server that start is about to launch.
  const started = await Promise.allSettled(ours.map((script) => infraScript(script, 'start', env)));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return {
    kafkaBrokers: KAFKA_BROKERS ?? `127.0.0.1:${kafkaPort}`,
    mongoUrl: MONGO_URL ?? `mongodb://127.0.0.1:${mongoPort}/`,
    description: `read models in ${MONGO_URL ? 'the MongoDB at MONGO_URL' : 'a FerretDB'}, Kafka ${KAFKA_BROKERS ? 'at KAFKA_BROKERS' : 'of the bench'}`,
    stop,
  };
}

/** Runs `test/infra/<script> <command>`, its progress lines passed on to stderr; rejects when it fails. */
async function infraScript(script: InfraScript, command: 'start' | 'stop', env: Record<string, string>): Promise<void> {
  const child = spawn('bash', [join(ROOT, 'test/infra', script), command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => process.stderr.write(`  ${line}\n`));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`test/infra/${script} ${command} failed (exit code ${code})`);
}
