import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { createApp } from './api/app.js';
import { TokenService, loadSigningKey } from './api/auth.js';
import { RateLimits } from './api/limits.js';
import { RevocationList } from './api/revocations.js';
import { ChatService } from './commands/service.js';
import type { Config } from './config.js';
import { openSqlite, type SqliteDatabase } from './db/sqlite.js';
import { initialConversationState, evolveConversation, type ConversationState } from './domain/conversation.js';
import { DomainError } from './domain/errors.js';
import type { ConversationEvent, UserEvent } from './domain/events.js';
import { conversationStream, userStream } from './domain/streams.js';
import { evolveUser, initialUserState, type UserState } from './domain/user.js';
import { EsdbEventStore } from './eventstore/esdb.js';
import { SqliteEventStore } from './eventstore/sqlite.js';
import { StateCache } from './eventstore/stateCache.js';
import type { EventStore } from './eventstore/port.js';
import { Gateway } from './gateway/gateway.js';
import { ProjectionRunner } from './projections/runner.js';
import type { ReadStore } from './projections/readStore.js';
import { MongoReadStore } from './projections/stores/mongo.js';
import { SqliteReadStore } from './projections/stores/sqlite.js';
import { startReplication, type Replication } from './replication/index.js';

export const VERSION = '0.1.0';

export interface RunningServer {
  port: number;
  http: Server;
  store: EventStore;
  readStore: ReadStore;
  projections: ProjectionRunner;
  gateway: Gateway;
  replication: Replication | null;
  /** Graceful stop: no new connections, sockets closed with "going away", checkpoints flushed. */
  close(): Promise<void>;
}

export const conversationFold = {
  initialState: initialConversationState,
  evolve: evolveConversation,
  streamOf: conversationStream,
};
export const userFold = { initialState: initialUserState, evolve: evolveUser, streamOf: userStream };

export const newConversationCache = (store: EventStore) => new StateCache<ConversationState, ConversationEvent>(store, conversationFold);

/** Opens the stores the configuration selects. Only this file and the CLI know concrete adapters. */
export async function openStores(config: Config): Promise<{ store: EventStore; readStore: ReadStore; db: SqliteDatabase; close(): void }> {
  const db = openSqlite(join(config.DATA_DIR, 'chat.db'));
  const store = openEventStore(config, db);
  const readStore = config.READ_STORE === 'mongo' ? await MongoReadStore.connect(config.MONGO_URL!) : new SqliteReadStore(db);
  return { store, readStore, db, close: () => db.close() };
}

/** EVENT_STORE is chosen on its own: with esdb, the SQLite file holds only the read models. */
function openEventStore(config: Config, db: SqliteDatabase): EventStore {
  // loadConfig refuses EVENT_STORE=esdb without ESDB_URL.
  return config.EVENT_STORE === 'esdb' ? EsdbEventStore.connect(config.ESDB_URL!) : new SqliteEventStore(db);
}

/**
 * A remote event store may still be starting, or be away for a moment: start-up waits for it with
 * backoff, logging every retry, instead of exiting. Later outages are ridden out by the subscriptions
 * (which resubscribe) and surface to clients as 503 `unavailable`.
 */
async function waitForEventStore(store: EventStore, logger: Logger): Promise<void> {
  for (let delay = 250; ; delay = Math.min(delay * 2, 10_000)) {
    try {
      await store.headPosition();
      return;
    } catch (err) {
      if (!(err instanceof DomainError && err.code === 'unavailable')) throw err;
      logger.warn({ err, retryInMs: delay }, 'event store unreachable; retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export async function startServer(config: Config, logger: Logger = pino({ level: config.LOG_LEVEL })): Promise<RunningServer> {
  const { store, readStore, db, close: closeStores } = await openStores(config);
  await waitForEventStore(store, logger);
  const projections = new ProjectionRunner({
    store,
    readStore,
    conversations: newConversationCache(store),
    options: { inboxPullThreshold: config.INBOX_PULL_THRESHOLD },
    onError: (err) => logger.error({ err }, 'projection batch failed; retrying'),
  });
  await projections.start();

  const service = new ChatService(
    store,
    newConversationCache(store),
    new StateCache<UserState, UserEvent>(store, userFold),
    readStore,
    { dcId: config.DC_ID, maxGroupSize: config.MAX_GROUP_SIZE },
  );
  const tokens = new TokenService(loadSigningKey(config.AUTH_SECRET, config.DATA_DIR), config.TOKEN_TTL_SECONDS, new RevocationList(db));
  const limits = new RateLimits({
    sendsPerUser: config.SEND_RATE_PER_USER,
    sendsPerIp: config.SEND_RATE_PER_IP,
    sendWindowSeconds: config.SEND_RATE_WINDOW_SECONDS,
    loginsPerUser: config.LOGIN_RATE_PER_USER,
    loginsPerIp: config.LOGIN_RATE_PER_IP,
    loginWindowSeconds: config.LOGIN_RATE_WINDOW_SECONDS,
  });
  const waitForProjections = (position: number) => projections.waitFor(position);
  const app = createApp(
    { service, store, readStore, tokens, waitForProjections },
    { limits, bodyLimitBytes: config.BODY_LIMIT_BYTES, adminToken: config.ADMIN_TOKEN, logger, version: VERSION },
  );
  const http = createServer(app);
  const gateway = new Gateway({
    store,
    service,
    readStore,
    tokens,
    conversations: newConversationCache(store),
    waitForProjections,
    logger,
    maxPayloadBytes: config.WS_MAX_PAYLOAD_BYTES,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    limits,
    flood: { rate: config.WS_FRAME_RATE, burst: config.WS_FRAME_BURST, closeAfter: config.WS_FLOOD_CLOSE_AFTER },
  });
  await gateway.start(http);
  const replication =
    config.REPLICATION === 'kafka'
      ? startReplication({ brokers: config.KAFKA_BROKERS!, dcId: config.DC_ID, store, readStore, logger })
      : null;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      const stopped = new Promise((resolve) => http.close(resolve));
      await gateway.stop();
      http.closeIdleConnections();
      await stopped;
      await replication?.stop();
      await projections.stop();
      await store.close();
      await readStore.close();
      closeStores();
    })());
  return { port, http, store, readStore, projections, gateway, replication, close };
}
