import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import { DomainError } from '../domain/errors.js';
import type { CommandContext } from '../commands/commandHandler.js';
import { bearerToken, type Principal, type TokenService } from './auth.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteInput<P, Q, B> {
  principal: Principal;
  params: P;
  query: Q;
  body: B;
  ctx: CommandContext;
}

export interface RouteResult {
  status?: number;
  body?: unknown;
}

export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  method: Method;
  /** Express path syntax, e.g. /v1/conversations/:id */
  path: string;
  summary: string;
  /** Defaults to true: a user's bearer token is required. 'admin' requires ADMIN_TOKEN. */
  auth?: boolean | 'admin';
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Status of a successful answer, for the OpenAPI document. */
  status: number;
  handler(input: RouteInput<P, Q, B>): Promise<RouteResult>;
}

/** Declares a route; the same declaration validates requests and feeds the OpenAPI document. */
export const route = <P, Q, B>(spec: RouteSpec<P, Q, B>) => spec as unknown as RouteSpec;

const ANONYMOUS: Principal = { userId: '', deviceId: '' };
const ADMIN: Principal = { userId: 'admin', deviceId: 'admin' };

export function mount(router: Router, routes: RouteSpec[], tokens: TokenService, adminToken: string | undefined): void {
  for (const spec of routes) {
    router[spec.method](spec.path, async (req: Request, res: Response) => {
      const principal =
        spec.auth === false ? ANONYMOUS : spec.auth === 'admin' ? authenticateAdmin(req, adminToken) : await authenticate(req, tokens);
      const input: RouteInput<unknown, unknown, unknown> = {
        principal,
        params: spec.params ? spec.params.parse(req.params) : req.params,
        query: spec.query ? spec.query.parse(req.query) : {},
        body: spec.body ? spec.body.parse(req.body ?? {}) : undefined,
        ctx: { correlationId: String(req.id) },
      };
      const result = await spec.handler(input);
      res.status(result.status ?? spec.status);
      if (result.body === undefined) res.end();
      else res.json(result.body);
    });
  }
}

function authenticateAdmin(req: Request, adminToken: string | undefined): Principal {
  if (!adminToken) throw new DomainError('forbidden', 'the admin API is disabled: set ADMIN_TOKEN');
  const token = bearerToken(req.headers.authorization);
  if (!token) throw new DomainError('unauthenticated', 'missing bearer token');
  const given = createHash('sha256').update(token).digest();
  const expected = createHash('sha256').update(adminToken).digest();
  if (!timingSafeEqual(given, expected)) throw new DomainError('forbidden', 'not an admin token');
  return ADMIN;
}

async function authenticate(req: Request, tokens: TokenService): Promise<Principal> {
  const token = bearerToken(req.headers.authorization);
  if (!token) throw new DomainError('unauthenticated', 'missing bearer token');
  return tokens.verify(token);
}
