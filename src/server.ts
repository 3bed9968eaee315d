import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { createApp } from './api/app.js';
import { TokenService, loadSigningKey } from './api/auth.js';
import { ChatService } from './commands/service.js';
import type { Config } from './config.js';
import { openSqlite } from './db/sqlite.js';
import { initialConversationState, evolveConversation, type ConversationState } from './domain/conversation.js';
import type { ConversationEvent, UserEvent } from './domain/events.js';
import { conversationStream, userStream } from './domain/streams.js';
import { evolveUser, initialUserState, type UserState } from './domain/user.js';
import { SqliteEventStore } from './eventstore/sqlite.js';
import { StateCache } from './eventstore/stateCache.js';
import type { EventStore, EventStoreStats } from './eventstore/port.js';
import { Gateway } from './gateway/gateway.js';
import { instrumentEventStore } from './observability/instrumentedEventStore.js';
import { createMetrics, observeConnections, observeProjectionLag, type Metrics } from './observability/metrics.js';
import { readinessCheck } from './observability/readiness.js';
import { checkpointLags } from './projections/lag.js';
import { ProjectionRunner } from './projections/runner.js';
import type { ReadStore } from './projections/readStore.js';
import type { RebuildTarget } from './projections/rebuild.js';
import { SqliteReadStore } from './projections/stores/sqlite.js';
import { SqliteRebuildTarget } from './projections/stores/sqliteRebuild.js';

export const VERSION = '0.1.0';
const SHUTDOWN_PROJECTION_WAIT_MS = 5000;

export interface RunningServer {
  port: number;
  http: Server;
  store: EventStore;
  readStore: ReadStore;
  projections: ProjectionRunner;
  gateway: Gateway;
  metrics: Metrics;
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

export interface Stores {
  store: EventStore;
  readStore: ReadStore;
  /** For operators: figures about the stored events, and zero-downtime projection rebuilds. */
  stats: EventStoreStats;
  rebuilds: RebuildTarget;
  close(): void;
}

/** The data directory holds no stores and the caller asked not to create them. */
export class StoresMissing extends Error {}

/**
 * Opens the stores the configuration selects. Only this file and the CLI know concrete adapters.
 * With `create: false` (the operator CLI) missing stores are an error, and nothing is created.
 */
export function openStores(config: Config, { create = true }: { create?: boolean } = {}): Stores {
  if (config.EVENT_STORE !== 'sqlite' || config.READ_STORE !== 'sqlite' || config.REPLICATION !== 'off') {
    throw new Error(
      'only the embedded profile (EVENT_STORE=sqlite READ_STORE=sqlite REPLICATION=off) is available in this build',
    );
  }
  const file = join(config.DATA_DIR, 'chat.db');
  if (!create && !existsSync(file)) throw new StoresMissing(`DATA_DIR=${config.DATA_DIR} holds no chat data (${file} does not exist)`);
  const db = openSqlite(file, { create });
  const store = new SqliteEventStore(db);
  return { store, readStore: new SqliteReadStore(db), stats: store, rebuilds: new SqliteRebuildTarget(db), close: () => db.close() };
}

export async function startServer(config: Config, logger: Logger = pino({ level: config.LOG_LEVEL })): Promise<RunningServer> {
  const metrics = createMetrics();
  const stores = openStores(config);
  const { readStore, close: closeStores } = stores;
  const store = instrumentEventStore(stores.store, metrics);
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
  const tokens = new TokenService(loadSigningKey(config.AUTH_SECRET, config.DATA_DIR), config.TOKEN_TTL_SECONDS);
  const waitForProjections = (position: number) => projections.waitFor(position);
  const lags = async () => (await checkpointLags(store, await readStore.checkpoints())).lags;
  observeProjectionLag(metrics, lags);
  const app = createApp(
    { service, store, readStore, tokens, waitForProjections },
    {
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      logger,
      version: VERSION,
      metrics,
      readiness: readinessCheck(store, readStore, config.READY_MAX_LAG_SECONDS),
    },
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
  });
  await gateway.start(http);
  observeConnections(metrics, gateway);
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
      // What the drained commands appended reaches the read models (and their checkpoints) now,
      // rather than at the next start.
      await projections.waitFor(await store.headPosition(), SHUTDOWN_PROJECTION_WAIT_MS);
      await projections.stop();
      await store.close();
      await readStore.close();
      closeStores();
    })());
  return { port, http, store, readStore, projections, gateway, metrics, close };
}
