import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every setting, parsed once at start-up from the environment. Nothing else reads process.env. */
export const configSchema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default('./data'),
  DC_ID: z.string().regex(/^[a-z0-9-]{1,32}$/, 'lower-case letters, digits and dashes').default('dc1'),
  EVENT_STORE: z.enum(['sqlite', 'esdb']).default('sqlite'),
  READ_STORE: z.enum(['sqlite', 'mongo']).default('sqlite'),
  REPLICATION: z.enum(['off', 'kafka']).default('off'),
  ESDB_URL: z.string().optional(),
  MONGO_URL: z.string().optional(),
  KAFKA_BROKERS: z.string().optional(),
  /** Token signing key; without it one is generated once and kept in DATA_DIR. */
  AUTH_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /** Bearer token for /v1/admin routes; without it they answer 403. */
  ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  TOKEN_TTL_SECONDS: int(60, 365 * 24 * 3600).default(7 * 24 * 3600),
  BODY_LIMIT_BYTES: int(1024, 16 * 1024 * 1024).default(64 * 1024),
  WS_MAX_PAYLOAD_BYTES: int(1024, 16 * 1024 * 1024).default(64 * 1024),
  HEARTBEAT_INTERVAL_MS: int(100, 10 * 60 * 1000).default(30_000),
  INBOX_PULL_THRESHOLD: int(1, 1_000_000).default(500),
  MAX_GROUP_SIZE: int(2, 1_000_000).default(5000),
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

/** Parses the environment; a bad value throws one line naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new ConfigError(`invalid configuration: ${name}=${JSON.stringify(env[name] ?? '')}: ${issue.message}`);
  }
  const config = parsed.data;
  const needs: [boolean, keyof Config, string][] = [
    [config.EVENT_STORE === 'esdb', 'ESDB_URL', 'EVENT_STORE=esdb'],
    [config.READ_STORE === 'mongo', 'MONGO_URL', 'READ_STORE=mongo'],
    [config.REPLICATION === 'kafka', 'KAFKA_BROKERS', 'REPLICATION=kafka'],
  ];
  for (const [selected, variable, because] of needs) {
    if (selected && !config[variable]) throw new ConfigError(`invalid configuration: ${variable} is required with ${because}`);
  }
  return config;
}
