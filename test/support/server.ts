import { createHash, randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import { usernameStream } from '../../src/domain/streams.js';
import { masterKey, usernameHasher } from '../../src/privacy/index.js';
import { startServer, type RunningServer, type ServerOverrides } from '../../src/server.js';
import { tempDir } from './tmp.js';

export interface TestServer extends RunningServer {
  url: string;
  wsUrl: string;
  dataDir: string;
  /** The stream that reserves `username` on this server (named by the username's keyed hash). */
  usernameStream(username: string): string;
  stop(): Promise<void>;
}

/** A restart on the same data directory finds the same database and datacenter id. */
const profileId = (dataDir: string) => createHash('sha256').update(dataDir).digest('hex').slice(0, 8);

/**
 * The adapters the suites run against. `npm test` uses the embedded profile; the infrastructure
 * lane sets TEST_PROFILE=distributed (with MONGO_URL, KAFKA_BROKERS, REDIS_URL and S3_ENDPOINT from
 * test/infra/run.sh), and every server then gets its own database, datacenter id, Redis key
 * prefix and bucket, so suites running side by side never share read models, topics,
 * revocations, rate limits or media (servers meant to share them pass one REDIS_KEY_PREFIX).
 */
export function profileEnv(id: string = randomUUID().slice(0, 8)): Record<string, string> {
  if (process.env.TEST_PROFILE !== 'distributed') return {};
  const { MONGO_URL, KAFKA_BROKERS, REDIS_URL, S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY } = process.env;
  if (!MONGO_URL || !KAFKA_BROKERS) throw new Error('TEST_PROFILE=distributed needs MONGO_URL and KAFKA_BROKERS');
  return {
    READ_STORE: 'mongo',
    MONGO_URL: `${MONGO_URL.replace(/\/?$/, '/')}chat_${id}`,
    REPLICATION: 'kafka',
    KAFKA_BROKERS,
    DC_ID: `t${id}`,
    // Instances sharing the database share its key store, so they share the master key too.
    MASTER_KEY: createHash('sha256').update(`master key ${id}`).digest('base64'),
    ...(REDIS_URL ? { REDIS_URL, REDIS_KEY_PREFIX: `t${id}:` } : {}),
    ...(S3_ENDPOINT ? { MEDIA_STORE: 's3', MEDIA_S3_ENDPOINT: S3_ENDPOINT, MEDIA_S3_BUCKET: `chat-${id}`, ...s3Credentials(S3_ACCESS_KEY, S3_SECRET_KEY) } : {}),
  };
}

const s3Credentials = (accessKeyId?: string, secretAccessKey?: string): Record<string, string> =>
  accessKeyId && secretAccessKey ? { MEDIA_S3_ACCESS_KEY_ID: accessKeyId, MEDIA_S3_SECRET_ACCESS_KEY: secretAccessKey } : {};

export interface TestServerOptions extends ServerOverrides {
  /** Reuse a data directory (a restart); it is then left in place on stop. */
  dataDir?: string;
  logger?: Logger;
}

/** Suites that read the embedded SQLite file directly (the CLI's, shutdown) skip the distributed lane. */
export const embeddedOnly = process.env.TEST_PROFILE === 'distributed' ? 'reads the embedded SQLite file directly; runs in npm test' : false;

/** The real server on an ephemeral port with a fresh DATA_DIR. */
export async function startTestServer(env: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const tmp = options.dataDir ? null : tempDir();
  const dataDir = options.dataDir ?? tmp!.dir;
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...profileEnv(profileId(env.DATA_DIR ?? dataDir)), ...env });
  // Every suite then also proves that the answers it sees are the ones the OpenAPI document declares.
  const server = await startServer(config, options.logger ?? pino({ level: 'silent' }), { checkAnswers: true, ...options });
  const hashUsername = usernameHasher(masterKey(config));
  return {
    ...server,
    url: `http://127.0.0.1:${server.port}`,
    wsUrl: `ws://127.0.0.1:${server.port}/v1/ws`,
    dataDir,
    usernameStream: (username) => usernameStream(hashUsername(username)),
    async stop() {
      await server.close();
      tmp?.remove();
    },
  };
}
