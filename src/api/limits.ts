import { Router, type NextFunction, type Request, type Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import { DomainError } from '../domain/errors.js';
import { bearerToken, type TokenService } from './auth.js';

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

  /** An empty userId (a caller without a good token) is charged to its address only. */
  async send(userId: string, ip: string): Promise<void> {
    await take(this.sendIp, ip, 'too many messages from this address');
    if (userId) await take(this.sendUser, userId, 'too many messages');
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

/**
 * Express middleware charging logins and sends before their routes run. A send is charged to its
 * user only when the token is good; otherwise the route itself answers 401.
 */
export function rateLimitRoutes(limits: RateLimits, tokens: TokenService): Router {
  const router = Router();
  const ip = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';
  router.post('/v1/sessions', async (req: Request, _res: Response, next: NextFunction) => {
    await limits.login(loginName.safeParse(req.body).data?.username, ip(req));
    next();
  });
  router.post('/v1/conversations/:id/messages', async (req: Request, _res: Response, next: NextFunction) => {
    const token = bearerToken(req.headers.authorization);
    const principal = token ? await tokens.verify(token).catch(() => null) : null;
    await limits.send(principal?.userId ?? '', ip(req));
    next();
  });
  return router;
}
