import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
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
 * Per-user and per-IP limits on sends (REST and WebSocket share them) and on logins. Counters are
 * in this process's memory: each instance enforces its own share, and a restart forgives.
 */
export class RateLimits {
  private readonly sendUser: RateLimiterMemory;
  private readonly sendIp: RateLimiterMemory;
  private readonly loginUser: RateLimiterMemory;
  private readonly loginIp: RateLimiterMemory;

  constructor(o: RateLimitOptions) {
    this.sendUser = new RateLimiterMemory({ keyPrefix: 'send-user', points: o.sendsPerUser, duration: o.sendWindowSeconds });
    this.sendIp = new RateLimiterMemory({ keyPrefix: 'send-ip', points: o.sendsPerIp, duration: o.sendWindowSeconds });
    this.loginUser = new RateLimiterMemory({ keyPrefix: 'login-user', points: o.loginsPerUser, duration: o.loginWindowSeconds });
    this.loginIp = new RateLimiterMemory({ keyPrefix: 'login-ip', points: o.loginsPerIp, duration: o.loginWindowSeconds });
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

async function take(limiter: RateLimiterMemory, key: string, what: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    throw new RateLimitedError(`${what}; retry in ${seconds} s`, seconds);
  }
}

const loginName = z.object({ username: z.string().max(32) });

/** Which limit a route takes: sends count per user, logins per username (read from the body, valid or not). */
export type RateLimitKind = 'send' | 'login';

/** Charges one request against its route's limit, before its input is validated: a bad request still counts. */
export function chargeRateLimit(limits: RateLimits, kind: RateLimitKind, request: { userId: string; ip: string; body: unknown }): Promise<void> {
  return kind === 'send' ? limits.send(request.userId, request.ip) : limits.login(loginName.safeParse(request.body).data?.username, request.ip);
}
