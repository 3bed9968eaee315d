import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { createApp } from './api/app.js';
import { connectDatacenters, type Datacenters } from './datacenters/index.js';
import { TokenService, loadSigningKey } from './api/auth.js';
import { RateLimits } from './api/limits.js';
import { RedisRevocationStore, SqliteRevocationStore } from './api/revocations.js';
import { ChatService } from './commands/service.js';
import type { Config } from './config.js';
import { initialConversationState, evolveConversation, type ConversationState } from './domain/conversation.js';
import type { ConversationEvent, UserEvent } from './domain/events.js';
import { conversationStream, userStream } from './domain/streams.js';
import { evolveUser, initialUserState, type UserState } from './domain/user.js';
import { StateCache } from './eventstore/stateCache.js';
import type { EventStore } from './eventstore/port.js';
import { ConversationFeed } from './feed/index.js';
import { Gateway } from './gateway/gateway.js';
import { instrumentEventStore } from './observability/instrumentedEventStore.js';
import { createMetrics, observeConnections, observeProjectionLag, type Metrics } from './observability/metrics.js';
import { readinessCheck } from './observability/readiness.js';
import { checkpointLags } from './projections/lag.js';
import { PresenceTracker } from './gateway/presence.js';
import { fencedSink, newHolderId, Singleton, type GuardedWork } from './lease/index.js';
import { ProjectionRunner, PROJECTIONS_LEASE } from './projections/runner.js';
import type { ProjectionSink, ReadStoreAdapter } from './projections/ports.js';
import { startReplication, type Replication } from './replication/index.js';
import { PUBLISHER_CHECKPOINT } from './replication/publisher.js';
import type { ReplicationStatusStore } from './replication/replicationStatus.js';
import { closeRedis, connectRedis } from './shared/redis.js';
import { InstanceBus, RedisPresence } from './instances/index.js';
import { retryPolicies, withRetry } from './shared/retry.js';
import { FcmSender, PushWorker, PUSH_CHECKPOINT, fcmOptionsFromConfig, type FcmOptions } from './push/index.js';
import { openStores } from './stores.js';
import { accountKeys, personalData, sealedEventStore, type UserKeys } from './privacy/index.js';
import { MediaLibrary, conversationVisibility, openBlobStore } from './media/index.js';

export const VERSION = '0.1.0';
const SHUTDOWN_PROJECTION_WAIT_MS = 5000;

export interface RunningServer {
  port: number;
  http: Server;
  store: EventStore;
  readStore: ReadStoreAdapter;
  projections: ProjectionRunner;
  gateway: Gateway;
  replication: Replication | null;
  metrics: Metrics;
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

/**
 * The state caches, emptied when an account is erased here: a cached conversation may hold a preview
 * of the account's last message, which would otherwise reach the read models again.
 */
function stateCaches(keys: UserKeys) {
  const all: { clear(): void }[] = [];
  keys.onErased(() => all.forEach((cache) => cache.clear()));
  const kept = <T extends { clear(): void }>(cache: T) => (all.push(cache), cache);
  return {
    conversations: (store: EventStore) => kept(newConversationCache(store)),
    users: (store: EventStore) => kept(new StateCache<UserState, UserEvent>(store, userFold)),
  };
}

/**
 * A remote event store may still be starting, or be away for a moment: start-up waits for it with
 * backoff, logging every retry, instead of exiting. Later outages are ridden out by the subscriptions
 * (which resubscribe) and surface to clients as 503 `unavailable`.
 */
async function waitForEventStore(store: EventStore, logger: Logger): Promise<void> {
  await withRetry(retryPolicies.eventStoreStartup, () => store.headPosition(), {
    onRetry: (err, attempt) => logger.warn({ err, attempt }, 'event store unreachable; retrying'),
  });
}

export interface ServerOverrides {
  /** FCM options instead of those from configuration (tests point them at a local stand-in). */
  fcm?: FcmOptions;
  /** Answers that differ from their route's declaration in the OpenAPI document are 500s (tests catch the drift). */
  checkAnswers?: boolean;
}

export async function startServer(
  config: Config,
  logger: Logger = pino({ level: config.LOG_LEVEL }),
  overrides: ServerOverrides = {},
): Promise<RunningServer> {
  const metrics = createMetrics();
  const stores = await openStores(config, {
    onSkippedRecord: (record) => {
      metrics.eventStoreRecordsSkipped.inc({ reason: record.reason });
      logger.warn({ record }, 'the event feed passed over a record that is not a product event');
    },
  });
  const { readStore, db, close: closeStores } = stores;
  await waitForEventStore(stores.store, logger);
  // Replication, the internal link and the copies they make use the store as kept: ciphertext.
  // Everything else reads and writes personal data through its owner's key (src/privacy).
  const keptStore = instrumentEventStore(stores.store, metrics);
  const datacenters = connectDatacenters(config, keptStore, metrics, logger);
  const { master, keys, store } = personalData(config, { store: keptStore, keys: stores.keys }, datacenters.linked?.keyPeers);
  const caches = stateCaches(keys);
  // One feed for the projections, the gateway and push: each event is parsed and folded once.
  const feed = new ConversationFeed({ store, newCache: () => caches.conversations(store), logger });
  await feed.start();
  const projections = new ProjectionRunner({
    store,
    readStore,
    conversations: caches.conversations(store),
    feed,
    options: { inboxPullThreshold: config.INBOX_PULL_THRESHOLD },
    onError: (err) => logger.error({ err }, 'projection batch failed; retrying'),
    analytics: config.REPLICATION === 'off' ? readStore : undefined,
  });
  // Projections, push and replication each run on the one instance holding the lease named after
  // them; API and gateway run on every instance. A single instance always wins its leases.
  const holder = newHolderId();
  const underLease = (name: string, work: GuardedWork) => new Singleton({ name, holder, leases: stores.leases, work, logger });
  const projectionsLease = underLease(PROJECTIONS_LEASE, { start: (token) => projections.start(token), stop: () => projections.stop() });
  await projectionsLease.start();

  const service = new ChatService(
    sealedEventStore(datacenters.commandStore, keys),
    caches.conversations(store),
    caches.users(store),
    {
      ...accountKeys(keys, master, config.ERASED_USERNAME_GRACE_DAYS),
      dcId: config.DC_ID,
      maxGroupSize: config.MAX_GROUP_SIZE,
      usernameReservationTimeoutMs: config.USERNAME_RESERVATION_TIMEOUT_MS,
      homeOfUser: (userId) => datacenters.homes.ofUser(userId),
      remote: datacenters.linked?.remote,
    },
  );
  // Shared between instances through Redis when configured; else this instance's alone.
  const redis = config.REDIS_URL ? await connectRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX, logger) : undefined;
  const revocations = redis ? new RedisRevocationStore(redis, logger) : new SqliteRevocationStore(db);
  const tokens = new TokenService(loadSigningKey(config.AUTH_SECRET, config.DATA_DIR), config.TOKEN_TTL_SECONDS, revocations);
  // However an erase reached this instance (the API, the CLI, another datacenter), its tokens stop working.
  keys.onErased((userId) => void tokens.revokeUser(userId).catch((err: unknown) => logger.error({ err, userId }, 'revoking an erased account\'s tokens failed')));
  const limits = new RateLimits(
    {
      sendsPerUser: config.SEND_RATE_PER_USER,
      sendsPerIp: config.SEND_RATE_PER_IP,
      sendWindowSeconds: config.SEND_RATE_WINDOW_SECONDS,
      loginsPerUser: config.LOGIN_RATE_PER_USER,
      loginsPerIp: config.LOGIN_RATE_PER_IP,
      loginWindowSeconds: config.LOGIN_RATE_WINDOW_SECONDS,
    },
    redis,
  );
  const waitForProjections = (position: number) => projections.waitFor(position);
  const mediaStore = await openBlobStore(config);
  const media = new MediaLibrary({
    blobs: mediaStore.blobs,
    references: readStore,
    visibility: conversationVisibility(service.conversations),
    caughtUp: async () => waitForProjections(await store.headPosition()),
    options: { maxBytes: config.MEDIA_MAX_BYTES, spoolDir: mediaStore.spoolDir, urlTtlSeconds: config.MEDIA_URL_TTL_SECONDS },
  });
  const lags = async () => (await checkpointLags(store, await readStore.checkpoints())).lags;
  observeProjectionLag(metrics, lags);
  // Typing and presence reach the sockets on the other instances through Redis, when there is one.
  const instances = redis ? InstanceBus.overRedis(redis, config.REDIS_KEY_PREFIX, holder, logger) : InstanceBus.alone(logger);
  const presence = new PresenceTracker({
    notifyIntervalMs: config.PRESENCE_NOTIFY_INTERVAL_MS,
    store: readStore,
    shared: redis ? new RedisPresence(redis, holder) : undefined,
    onError: (err) => logger.error({ err }, 'presence failed'),
  });
  const app = createApp(
    { service, store, readStore, tokens, presence, homes: datacenters.homes, media },
    {
      limits,
      waitForProjections,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      adminToken: config.ADMIN_TOKEN,
      logger,
      version: VERSION,
      metrics,
      readiness: readinessCheck(store, readStore, config.READY_MAX_LAG_SECONDS, redis),
      internalRoutes: datacenters.linked?.internalRoutes({
        executeHere: (streamId, command, ctx) => service.executeHere(streamId, command, ctx),
        storedKey: (userId) => keys.stored(userId),
      }),
      checkAnswers: overrides.checkAnswers,
    },
  );
  const http = createServer(app);
  const gateway = new Gateway({
    store,
    service,
    media,
    readStore,
    tokens,
    feed,
    waitForProjections,
    logger,
    maxPayloadBytes: config.WS_MAX_PAYLOAD_BYTES,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    presenceTimeoutMs: config.PRESENCE_TIMEOUT_MS,
    presence,
    typing: { ttlMs: config.TYPING_TTL_MS, throttleMs: config.TYPING_THROTTLE_MS },
    inboxPullThreshold: config.INBOX_PULL_THRESHOLD,
    limits,
    flood: { rate: config.WS_FRAME_RATE, burst: config.WS_FRAME_BURST, closeAfter: config.WS_FLOOD_CLOSE_AFTER },
    homes: datacenters.homes,
    signals: datacenters.signals,
    instances,
  });
  await gateway.start(http);
  keys.onErased((userId) => gateway.endSessionsOf(userId));
  observeConnections(metrics, gateway);
  let replication: Replication | null = null;
  const replicationLease =
    config.REPLICATION === 'kafka'
      ? underLease(PUBLISHER_CHECKPOINT, {
          start: async (token) => {
            const fenced = { ...fencedSink(readStore, token), recordMessageFacts: readStore.recordMessageFacts.bind(readStore) };
            replication = startReplication({ brokers: config.KAFKA_BROKERS!, dcId: config.DC_ID, store: keptStore, readStore: fenced, logger, sync: syncDeps(datacenters, stores, metrics) });
          },
          stop: async () => {
            await replication?.stop();
            replication = null;
          },
        })
      : null;
  await replicationLease?.start();
  const pushesHere = async (userId: string) => (await datacenters.homes.ofUser(userId)) === config.DC_ID;
  let push: PushWorker | null = null;
  const pushLease = underLease(PUSH_CHECKPOINT, {
    start: async (token) => {
      push = await startPush(config, logger, overrides, { store, feed, readStore: fencedSink(readStore, token), service, presence, pushesHere, outcomes: metrics.pushOutcomes });
    },
    stop: async () => {
      await push?.stop();
      push = null;
    },
  });
  await pushLease.start();
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      const stopped = new Promise((resolve) => http.close(resolve));
      await pushLease.stop();
      await gateway.stop();
      await presence.close();
      http.closeIdleConnections();
      await stopped;
      await replicationLease?.stop();
      instances.close();
      if (redis) await closeRedis(redis);
      // What the drained commands appended reaches the read models (and their checkpoints) now,
      // rather than at the next start.
      if (projectionsLease.token) await projections.waitFor(await store.headPosition(), SHUTDOWN_PROJECTION_WAIT_MS);
      await projectionsLease.stop();
      await feed.stop();
      await store.close();
      await readStore.close();
      mediaStore.close();
      closeStores();
    })());
  return {
    port,
    http,
    store,
    readStore,
    projections,
    gateway,
    get replication() {
      return replication;
    },
    metrics,
    presence,
    get push() {
      return push;
    },
    close,
  };
}

/** With other datacenters, the sync consumer applies their events to the local store. */
function syncDeps(datacenters: Datacenters, stores: { replicationStatus: ReplicationStatusStore }, metrics: Metrics) {
  if (!datacenters.linked) return undefined;
  return {
    sources: datacenters.topology.all.filter((dc) => dc !== datacenters.topology.self),
    copier: datacenters.linked.copier,
    status: stores.replicationStatus,
    metrics,
  };
}

/** Push runs only with FCM credentials; without them it is off, said once at start-up. */
async function startPush(
  config: Config,
  logger: Logger,
  overrides: ServerOverrides,
  deps: {
    store: EventStore;
    feed: ConversationFeed;
    readStore: ProjectionSink;
    service: ChatService;
    presence: PresenceTracker;
    pushesHere(userId: string): Promise<boolean>;
    outcomes: Metrics['pushOutcomes'];
  },
): Promise<PushWorker | null> {
  const fcm = overrides.fcm ?? fcmOptionsFromConfig(config);
  if (!fcm) {
    logger.info('push notifications off: no FCM credentials (set FCM_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS)');
    return null;
  }
  const worker = new PushWorker({
    store: deps.store,
    feed: deps.feed,
    readStore: deps.readStore,
    service: deps.service,
    sender: new FcmSender(fcm),
    isOnline: (userId) => deps.presence.isOnline(userId),
    pushesHere: deps.pushesHere,
    logger,
    outcomes: deps.outcomes,
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
