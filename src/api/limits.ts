import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { z } from 'zod';
import { DomainError } from '../domain/errors.js';

/** A refusal that tells the client when to come back (`Retry-After`, and `retryAfterSeconds` on the wire). */
export class RateLimitedError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('rate_limited', message);
  }
}

export interface RateLimitOptions {
  sendsPerUser: number;
  sendsPerIp: number;
  sendWindowSeconds: number;
  loginsPerUser: number;
  loginsPerIp: number;
  loginWindowSeconds: number;
}

/**
 * Per-user and per-IP limits on sends (REST and WebSocket share them) and on logins. With Redis the
 * counters are shared by every instance; without it (or while it is away) they are in this process's
 * memory: each instance enforces its own share, and a restart forgives.
 */
export class RateLimits {
  private readonly sendUser: RateLimiterAbstract;
  private readonly sendIp: RateLimiterAbstract;
  private readonly loginUser: RateLimiterAbstract;
  private readonly loginIp: RateLimiterAbstract;
  private readonly exportUser: RateLimiterAbstract;

  constructor(o: RateLimitOptions, redis?: Redis) {
    const limiter = (keyPrefix: string, points: number, duration: number) => newLimiter({ keyPrefix, points, duration }, redis);
    this.sendUser = limiter('send-user', o.sendsPerUser, o.sendWindowSeconds);
    this.sendIp = limiter('send-ip', o.sendsPerIp, o.sendWindowSeconds);
    this.loginUser = limiter('login-user', o.loginsPerUser, o.loginWindowSeconds);
    this.loginIp = limiter('login-ip', o.loginsPerIp, o.loginWindowSeconds);
    // An export reads the user's whole history: a few an hour serve any person, and no more are worth the load.
    this.exportUser = limiter('export-user', EXPORTS_PER_HOUR, 60 * 60);
  }

  async export(userId: string): Promise<void> {
    await take(this.exportUser, userId, 'too many exports');
  }

  async send(userId: string, ip: string): Promise<void> {
    await take(this.sendIp, ip, 'too many messages from this address');
    await take(this.sendUser, userId, 'too many messages');
  }

  /** Usernames are case-insensitive, so is their counter. */
  async login(username: string | undefined, ip: string): Promise<void> {
    await take(this.loginIp, ip, 'too many login attempts from this address');
    if (username) await take(this.loginUser, username.toLowerCase(), 'too many login attempts for this user');
  }
}

interface LimiterOptions {
  keyPrefix: string;
  points: number;
  duration: number;
}

/**
 * Redis away must not fail requests: the Redis limiter refuses at once while disconnected and then
 * counts in memory (its insurance), so limits degrade to per instance for the outage.
 */
function newLimiter(options: LimiterOptions, redis: Redis | undefined): RateLimiterAbstract {
  const memory = new RateLimiterMemory(options);
  if (!redis) return memory;
  return new RateLimiterRedis({ ...options, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: memory });
}

async function take(limiter: RateLimiterAbstract, key: string, what: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    throw new RateLimitedError(`${what}; retry in ${seconds} s`, seconds);
  }
}

const loginName = z.object({ username: z.string().max(32) });

/** Which limit a route takes: sends and exports count per user, logins per username (read from the body, valid or not). */
export type RateLimitKind = 'send' | 'login' | 'export';

/** Self-service exports per user and hour. */
export const EXPORTS_PER_HOUR = 5;

/** Charges one request against its route's limit, before its input is validated: a bad request still counts. */
export function chargeRateLimit(limits: RateLimits, kind: RateLimitKind, request: { userId: string; ip: string; body: unknown }): Promise<void> {
  if (kind === 'export') return limits.export(request.userId);
  return kind === 'send' ? limits.send(request.userId, request.ip) : limits.login(loginName.safeParse(request.body).data?.username, request.ip);
}
