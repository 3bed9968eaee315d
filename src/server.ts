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
import type { EventStore } from './eventstore/port.js';
import { Gateway } from './gateway/gateway.js';
import { PresenceTracker } from './gateway/presence.js';
import { ProjectionRunner } from './projections/runner.js';
import type { ReadStore } from './projections/readStore.js';
import { SqliteReadStore } from './projections/stores/sqlite.js';
import { FcmSender, PushWorker, fcmOptionsFromConfig, type FcmOptions } from './push/index.js';

export const VERSION = '0.1.0';

export interface RunningServer {
  port: number;
  http: Server;
  store: EventStore;
  readStore: ReadStore;
  projections: ProjectionRunner;
  gateway: Gateway;
  presence: PresenceTracker;
  /** Null when push is off (no FCM credentials). */
  push: PushWorker | null;
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
export function openStores(config: Config): { store: EventStore; readStore: ReadStore; close(): void } {
  if (config.EVENT_STORE !== 'sqlite' || config.READ_STORE !== 'sqlite' || config.REPLICATION !== 'off') {
    throw new Error(
      'only the embedded profile (EVENT_STORE=sqlite READ_STORE=sqlite REPLICATION=off) is available in this build',
    );
  }
  const db = openSqlite(join(config.DATA_DIR, 'chat.db'));
  return { store: new SqliteEventStore(db), readStore: new SqliteReadStore(db), close: () => db.close() };
}

export interface ServerOverrides {
  /** FCM options instead of those from configuration (tests point them at a local stand-in). */
  fcm?: FcmOptions;
}

export async function startServer(
  config: Config,
  logger: Logger = pino({ level: config.LOG_LEVEL }),
  overrides: ServerOverrides = {},
): Promise<RunningServer> {
  const { store, readStore, close: closeStores } = openStores(config);
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
  const presence = new PresenceTracker({
    notifyIntervalMs: config.PRESENCE_NOTIFY_INTERVAL_MS,
    store: readStore,
    onError: (err) => logger.error({ err }, 'presence failed'),
  });
  const app = createApp(
    { service, store, readStore, tokens, waitForProjections, presence },
    { bodyLimitBytes: config.BODY_LIMIT_BYTES, logger, version: VERSION },
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
    presenceTimeoutMs: config.PRESENCE_TIMEOUT_MS,
    presence,
    typing: { ttlMs: config.TYPING_TTL_MS, throttleMs: config.TYPING_THROTTLE_MS },
    inboxPullThreshold: config.INBOX_PULL_THRESHOLD,
  });
  await gateway.start(http);
  const push = await startPush(config, logger, overrides, { store, readStore, service, presence });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      const stopped = new Promise((resolve) => http.close(resolve));
      await push?.stop();
      await gateway.stop();
      await presence.close();
      http.closeIdleConnections();
      await stopped;
      await projections.stop();
      await store.close();
      await readStore.close();
      closeStores();
    })());
  return { port, http, store, readStore, projections, gateway, presence, push, close };
}

/** Push runs only with FCM credentials; without them it is off, said once at start-up. */
async function startPush(
  config: Config,
  logger: Logger,
  overrides: ServerOverrides,
  deps: { store: EventStore; readStore: ReadStore; service: ChatService; presence: PresenceTracker },
): Promise<PushWorker | null> {
  const fcm = overrides.fcm ?? fcmOptionsFromConfig(config);
  if (!fcm) {
    logger.info('push notifications off: no FCM credentials (set FCM_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS)');
    return null;
  }
  const worker = new PushWorker({
    store: deps.store,
    readStore: deps.readStore,
    conversations: newConversationCache(deps.store),
    service: deps.service,
    sender: new FcmSender(fcm),
    isOnline: (userId) => deps.presence.isOnline(userId),
    logger,
    options: {
      preview: config.PUSH_PREVIEW,
      maxAttempts: config.PUSH_MAX_ATTEMPTS,
      retryBaseMs: config.PUSH_RETRY_BASE_MS,
      maxAgeMs: config.PUSH_MAX_AGE_SECONDS * 1000,
    },
  });
  await worker.start();
  logger.info({ projectId: fcm.projectId, preview: config.PUSH_PREVIEW }, 'push notifications on (FCM HTTP v1)');
  return worker;
}
