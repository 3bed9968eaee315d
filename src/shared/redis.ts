import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Commands wait at most this long for an answer, so a hung Redis slows requests by a bounded time. */
const COMMAND_TIMEOUT_MS = 1000;

/**
 * A client for the state instances share (revocations, rate limits, presence, typing). Redis being
 * away must not hold requests: commands are refused at once while disconnected (no offline queue,
 * one retry) and the callers degrade. The client keeps reconnecting in the background; the log says when Redis goes
 * away and when it is back, once per outage (ioredis emits `error` on every failed reconnect).
 *
 * Resolves once the first connection attempt has settled, either way: a Redis that is up is in use
 * from the first request on, and one that is away does not hold up start-up.
 */
export async function connectRedis(url: string, keyPrefix: string, logger: Logger): Promise<Redis> {
  const redis = new Redis(url, {
    keyPrefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
  });
  let away = false;
  redis.on('error', (err) => {
    if (away) return;
    away = true;
    logger.warn({ err }, 'Redis is away: rate limits, presence and typing are per instance and token revocations are not checked until it is back');
  });
  redis.on('ready', () => {
    if (!away) return;
    away = false;
    logger.info('Redis is back: rate limits, presence, typing and token revocations are shared again');
  });
  await new Promise<void>((resolve) => {
    const settled = () => {
      redis.off('ready', settled).off('error', settled);
      resolve();
    };
    redis.once('ready', settled).once('error', settled);
  });
  return redis;
}

/** Ends the connection without waiting for a Redis that is away. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit();
  else redis.disconnect();
}
