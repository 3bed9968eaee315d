import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const DC_ID = /^[a-z0-9-]{1,32}$/;

/** `dc2=http://dc2-app:8080,dc3=...`: datacenter ids and URLs. */
const dcUrls = (variable: string) =>
  z.string().transform((text, ctx) => {
    const entries = new Map<string, string>();
    for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
      const [id, url] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      if (!pair.includes('=') || !DC_ID.test(id) || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
        ctx.addIssue({ code: 'custom', message: `${variable} takes id=http(s)://host:port pairs separated by commas, not ${JSON.stringify(pair)}` });
        return z.NEVER;
      }
      entries.set(id, url.replace(/\/+$/, ''));
    }
    return entries;
  });

/** Every setting, parsed once at start-up from the environment. Nothing else reads process.env. */
export const configSchema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default('./data'),
  DC_ID: z.string().regex(DC_ID, 'lower-case letters, digits and dashes').default('dc1'),
  EVENT_STORE: z.enum(['sqlite', 'esdb']).default('sqlite'),
  READ_STORE: z.enum(['sqlite', 'mongo']).default('sqlite'),
  REPLICATION: z.enum(['off', 'kafka']).default('off'),
  ESDB_URL: z.string().optional(),
  MONGO_URL: z.string().optional(),
  KAFKA_BROKERS: z.string().optional(),
  /** Where instances share revocations and rate limits; without it both stay in this instance. */
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'a redis:// or rediss:// URL' })
    .optional(),
  /** Prepended to every Redis key, so deployments (or test servers) sharing one Redis keep apart. */
  REDIS_KEY_PREFIX: z.string().regex(/^[\w.:-]{0,64}$/, 'letters, digits, _ . : - (at most 64)').default('chat:'),
  /**
   * The other datacenters, as `id=url` pairs separated by commas: the base URL of each one's internal
   * link (the app's own HTTP port; a load balancer may sit in front). Empty: this DC is alone.
   */
  DC_PEERS: dcUrls('DC_PEERS').default(new Map()),
  /** Shared by every datacenter: authenticates the internal link. Required with DC_PEERS. */
  DC_LINK_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /** Every datacenter's public address (`id=url,...`), where a client at the wrong DC is sent. */
  DC_PUBLIC_URLS: dcUrls('DC_PUBLIC_URLS').default(new Map()),
  /** How long a command forwarded to its home datacenter may take before it answers 503. */
  DC_FORWARD_TIMEOUT_MS: int(100, 120_000).default(5000),
  /** Where media files live: `fs`, a folder under DATA_DIR; `s3`, an S3-compatible bucket. */
  MEDIA_STORE: z.enum(['fs', 's3']).default('fs'),
  /** Uploads over this size are refused (413) while they stream in. */
  MEDIA_MAX_BYTES: int(1024, 16 * 1024 ** 3).default(100 * 1024 * 1024),
  /** How long a presigned download URL (MEDIA_STORE=s3) stays valid. */
  MEDIA_URL_TTL_SECONDS: int(10, 7 * 24 * 3600).default(300),
  MEDIA_S3_BUCKET: z.string().min(3).max(63).optional(),
  /** An S3-compatible server (SeaweedFS, Ceph...), addressed path-style; unset: AWS itself. */
  MEDIA_S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /** The same store as clients reach it, for presigned URLs; unset: MEDIA_S3_ENDPOINT. */
  MEDIA_S3_PUBLIC_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  MEDIA_S3_REGION: z.string().min(1).default('us-east-1'),
  /** Unset: the AWS SDK's own credential chain (instance role, AWS_* variables). */
  MEDIA_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  MEDIA_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Token signing key; without it one is generated once and kept in DATA_DIR. */
  AUTH_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /**
   * Wraps every user's data key (base64 of 32 bytes); without it one is generated once and kept in
   * DATA_DIR. Every instance and datacenter sharing keys needs the same one.
   */
  MASTER_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length === 32, '32 bytes, base64-encoded (e.g. openssl rand -base64 32)')
    .optional(),
  /** How long an erased account's username stays reserved before anyone may register it. */
  ERASED_USERNAME_GRACE_DAYS: int(0, 3650).default(30),
  /** Bearer token for /v1/admin routes; without it they answer 403. */
  ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  TOKEN_TTL_SECONDS: int(60, 365 * 24 * 3600).default(7 * 24 * 3600),
  BODY_LIMIT_BYTES: int(1024, 16 * 1024 * 1024).default(64 * 1024),
  WS_MAX_PAYLOAD_BYTES: int(1024, 16 * 1024 * 1024).default(64 * 1024),
  /** How often the gateway pings each socket; at most half of PRESENCE_TIMEOUT_MS. */
  HEARTBEAT_INTERVAL_MS: int(50, 10 * 60 * 1000).default(10_000),
  /** A socket silent for this long (no pong, no frame) is dropped, and its user may go offline. */
  PRESENCE_TIMEOUT_MS: int(100, 20 * 60 * 1000).default(30_000),
  /** Presence frames about one user go out at most once per this interval; changes in between are coalesced. */
  PRESENCE_NOTIFY_INTERVAL_MS: int(0, 10 * 60 * 1000).default(10_000),
  /** A typing indicator lasts this long unless the client renews it. */
  TYPING_TTL_MS: int(500, 60_000).default(6000),
  /** In groups above INBOX_PULL_THRESHOLD, one sender's typing frames are fanned out at most this often. */
  TYPING_THROTTLE_MS: int(100, 60_000).default(3000),
  INBOX_PULL_THRESHOLD: int(1, 1_000_000).default(500),
  MAX_GROUP_SIZE: int(2, 1_000_000).default(5000),
  /**
   * A username reservation whose user is still unregistered after this long was left by a registration
   * that died, and the name may be taken again. Registrations give up at half of it.
   */
  USERNAME_RESERVATION_TIMEOUT_MS: int(1000, 24 * 3600 * 1000).default(60_000),
  /** /readyz answers 503 while a projection's oldest unapplied event is older than this. */
  READY_MAX_LAG_SECONDS: int(1, 24 * 3600).default(30),
  /** FCM credentials: a service account key as JSON text, or the path of a credentials file. */
  FCM_SERVICE_ACCOUNT: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON: expected the service account key file contents' });
        return z.NEVER;
      }
    })
    .pipe(
      z.looseObject({
        project_id: z.string().min(1),
        client_email: z.string().min(1),
        private_key: z.string().min(1),
      }),
    )
    .optional(),
  GOOGLE_APPLICATION_CREDENTIALS: z.string().min(1).optional(),
  /** Overrides the project id the credentials name (needed when they name none). */
  FCM_PROJECT_ID: z.string().min(1).optional(),
  /** `hide` keeps message text out of push notifications (they say "New message"). */
  PUSH_PREVIEW: z.enum(['show', 'hide']).default('show'),
  PUSH_MAX_ATTEMPTS: int(1, 20).default(5),
  /** First retry delay of a failed push; it doubles per attempt. */
  PUSH_RETRY_BASE_MS: int(10, 60_000).default(1000),
  /** Messages older than this when the push worker reaches them (after an outage) are not pushed. */
  PUSH_MAX_AGE_SECONDS: int(1, 7 * 24 * 3600).default(3600),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Message sends (REST and WebSocket together) per SEND_RATE_WINDOW_SECONDS. */
  SEND_RATE_PER_USER: int(1, 1_000_000_000).default(60),
  SEND_RATE_PER_IP: int(1, 1_000_000_000).default(600),
  SEND_RATE_WINDOW_SECONDS: int(1, 3600).default(10),
  /** Login attempts per LOGIN_RATE_WINDOW_SECONDS, per username and per client address. */
  LOGIN_RATE_PER_USER: int(1, 1_000_000_000).default(10),
  LOGIN_RATE_PER_IP: int(1, 1_000_000_000).default(100),
  LOGIN_RATE_WINDOW_SECONDS: int(1, 3600).default(60),
  /** WebSocket frames per second per socket, with a burst allowance (per 10 s) above that. */
  WS_FRAME_RATE: int(1, 1_000_000_000).default(50),
  WS_FRAME_BURST: int(0, 1_000_000_000).default(100),
  /** Refused frames within 10 s after which a flooding socket is closed with 1008. */
  WS_FLOOD_CLOSE_AFTER: int(1, 1_000_000_000).default(50),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/** Variables whose values must not reach logs, even in an error line (a Redis URL may carry its password). */
const SECRETS = new Set(['AUTH_SECRET', 'MASTER_KEY', 'FCM_SERVICE_ACCOUNT', 'REDIS_URL', 'DC_LINK_SECRET', 'MEDIA_S3_SECRET_ACCESS_KEY']);

/** Parses the environment; a bad value throws one line naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    const value = SECRETS.has(name) ? '(value not shown)' : JSON.stringify(env[name] ?? '');
    const field = issue.path.length > 1 ? `${issue.path.slice(1).join('.')}: ` : '';
    throw new ConfigError(`invalid configuration: ${name}=${value}: ${field}${issue.message}`);
  }
  const config = parsed.data;
  const needs: [boolean, keyof Config, string][] = [
    [config.EVENT_STORE === 'esdb', 'ESDB_URL', 'EVENT_STORE=esdb'],
    [config.READ_STORE === 'mongo', 'MONGO_URL', 'READ_STORE=mongo'],
    [config.REPLICATION === 'kafka', 'KAFKA_BROKERS', 'REPLICATION=kafka'],
    [config.MEDIA_STORE === 's3', 'MEDIA_S3_BUCKET', 'MEDIA_STORE=s3'],
    // The instances sharing a MongoDB key store must unwrap the same keys.
    [config.READ_STORE === 'mongo', 'MASTER_KEY', 'READ_STORE=mongo'],
  ];
  for (const [selected, variable, because] of needs) {
    if (selected && !config[variable]) throw new ConfigError(`invalid configuration: ${variable} is required with ${because}`);
  }
  if (config.DC_PEERS.size > 0) {
    if (!config.DC_LINK_SECRET) throw new ConfigError('invalid configuration: DC_LINK_SECRET is required with DC_PEERS');
    if (config.REPLICATION !== 'kafka') throw new ConfigError('invalid configuration: REPLICATION=kafka is required with DC_PEERS (events reach the other datacenters through Kafka)');
    if (!config.AUTH_SECRET) throw new ConfigError('invalid configuration: AUTH_SECRET is required with DC_PEERS (every DC must accept the same tokens)');
    if (!config.MASTER_KEY) throw new ConfigError('invalid configuration: MASTER_KEY is required with DC_PEERS (every DC must open the same users\' keys)');
    if (config.DC_PEERS.has(config.DC_ID)) throw new ConfigError(`invalid configuration: DC_PEERS lists this datacenter (${config.DC_ID}) itself`);
  }
  // Pinging at most every half timeout lets a healthy socket answer twice before it would be dropped.
  if (config.HEARTBEAT_INTERVAL_MS * 2 > config.PRESENCE_TIMEOUT_MS) {
    throw new ConfigError('invalid configuration: HEARTBEAT_INTERVAL_MS must be at most half of PRESENCE_TIMEOUT_MS');
  }
  // A throttled sender's indicator must be renewed before it expires on the receivers' side.
  if (config.TYPING_THROTTLE_MS >= config.TYPING_TTL_MS) {
    throw new ConfigError('invalid configuration: TYPING_THROTTLE_MS must be less than TYPING_TTL_MS');
  }
  return config;
}
