import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response, type Router } from 'express';
import type { z } from 'zod';
import { DomainError } from '../domain/errors.js';
import type { CommandContext } from '../commands/commandHandler.js';
import { checkedAnswer, type Answer, type RefusalStatus } from './answers.js';
import { bearerToken, sameSecret, type Principal, type TokenService } from './auth.js';
import { chargeRateLimit, type RateLimitKind, type RateLimits } from './limits.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteInput<P, Q, B> {
  principal: Principal;
  params: P;
  query: Q;
  body: B;
  /** Routes with `streamBody`: the request body, unread. */
  stream: Readable;
  /** For answers that depend on them (conditional and range requests). */
  headers: IncomingHttpHeaders;
  ctx: CommandContext;
}

export interface RouteResult {
  status?: number;
  body?: unknown;
  /** Global position of the command's append (0 or absent: nothing appended); see `readYourWrites`. */
  position?: number;
  headers?: Record<string, string>;
  /** Sent as the body as it is (a file), instead of `body` as JSON. */
  stream?: Readable;
}

export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  method: Method;
  /** Express path syntax, e.g. /v1/conversations/:id */
  path: string;
  summary: string;
  /** Defaults to true: a user's bearer token is required. 'admin' requires ADMIN_TOKEN. */
  auth?: boolean | 'admin';
  params?: z.ZodType<P, Record<string, unknown>>;
  query?: z.ZodType<Q, Record<string, unknown>>;
  /** A JSON body, read only once the caller is authenticated, and only for routes that declare one. */
  body?: z.ZodType<B>;
  /** The handler streams the raw body itself (uploads): nothing reads it before. */
  streamBody?: true;
  /** Status of a successful answer when the handler names none. */
  status: number;
  /** Every status of a successful answer (`status` and those the handler names), with its body. */
  responses: Record<number, Answer>;
  /** Refusals the handler gives, besides those the declaration implies (see `refusalsOf`). */
  refusals?: RefusalStatus[];
  /** Charged once the caller is authenticated, before the input is validated. */
  rateLimit?: RateLimitKind;
  /**
   * The answer waits until the read models include the returned `position`, so the client's next
   * query already sees its write.
   */
  readYourWrites?: boolean;
  handler(input: RouteInput<P, Q, B>): Promise<RouteResult>;
}

/** Declares a route; the same declaration validates requests and describes answers in the OpenAPI document. */
export const route = <P, Q, B>(spec: RouteSpec<P, Q, B>) => spec as unknown as RouteSpec;

const ANONYMOUS: Principal = { userId: '', deviceId: '' };
const ADMIN: Principal = { userId: 'admin', deviceId: 'admin' };

export interface RouteRunner {
  tokens: TokenService;
  adminToken: string | undefined;
  limits: RateLimits;
  /** Resolves once the read models include `position`. */
  waitForProjections(position: number): Promise<unknown>;
  /** JSON bodies over this size are refused with 413. */
  bodyLimitBytes: number;
  /** Test servers: an answer that differs from its route's declaration is a 500 (see `checkedAnswer`). */
  checkAnswers?: boolean;
}

/**
 * Each request is authenticated once (401 comes before anything else the route says), charged to
 * its rate limit, validated, handled, and answered once the read models caught up if it asked so.
 */
export function mount(router: Router, routes: RouteSpec[], runner: RouteRunner): void {
  const readJson = jsonReader(runner.bodyLimitBytes);
  for (const spec of routes) {
    router[spec.method](spec.path, async (req: Request, res: Response) => {
      const handle = () => run(spec, req, res, runner, readJson);
      await answer(res, runner.checkAnswers ? await checkedAnswer(spec, handle) : await handle(), spec.status);
    });
  }
}

async function run(spec: RouteSpec, req: Request, res: Response, runner: RouteRunner, readJson: ReturnType<typeof jsonReader>): Promise<RouteResult> {
  const principal = await authenticateFor(spec, req, runner);
  // Read after authentication: a caller without a good token never gets a body parsed.
  const body = spec.body ? await readJson(req, res) : undefined;
  if (spec.rateLimit) {
    await chargeRateLimit(runner.limits, spec.rateLimit, { userId: principal.userId, ip: clientIp(req), body });
  }
  const input: RouteInput<unknown, unknown, unknown> = {
    principal,
    params: spec.params ? spec.params.parse(req.params) : req.params,
    query: spec.query ? spec.query.parse(req.query) : {},
    body: spec.body ? spec.body.parse(body ?? {}) : undefined,
    stream: req,
    headers: req.headers,
    ctx: { correlationId: String(req.id) },
  };
  const result = await spec.handler(input);
  if (spec.readYourWrites && result.position) await runner.waitForProjections(result.position);
  return result;
}

/** express's JSON parser, run by a route that takes JSON once it has authenticated the caller. */
function jsonReader(limit: number) {
  const parse = express.json({ limit, type: () => true });
  return (req: Request, res: Response) =>
    new Promise<unknown>((resolve, reject) => parse(req, res, (error?: unknown) => (error ? reject(error) : resolve(req.body))));
}

async function answer(res: Response, result: RouteResult, defaultStatus: number): Promise<void> {
  res.status(result.status ?? defaultStatus);
  if (result.headers) res.set(result.headers);
  if (result.stream) {
    // A client that goes away mid-file only ends its own download.
    await pipeline(result.stream, res).catch(() => res.destroy());
  } else if (result.body === undefined) res.end();
  else res.json(result.body);
}

function authenticateFor(spec: RouteSpec, req: Request, runner: RouteRunner): Promise<Principal> | Principal {
  if (spec.auth === false) return ANONYMOUS;
  if (spec.auth === 'admin') return authenticateAdmin(req, runner.adminToken);
  return authenticate(req, runner.tokens);
}

const clientIp = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';

function authenticateAdmin(req: Request, adminToken: string | undefined): Principal {
  if (!adminToken) throw new DomainError('forbidden', 'the admin API is disabled: set ADMIN_TOKEN');
  const token = bearerToken(req.headers.authorization);
  if (!token) throw new DomainError('unauthenticated', 'missing bearer token');
  if (!sameSecret(token, adminToken)) throw new DomainError('forbidden', 'not an admin token');
  return ADMIN;
}

async function authenticate(req: Request, tokens: TokenService): Promise<Principal> {
  const token = bearerToken(req.headers.authorization);
  if (!token) throw new DomainError('unauthenticated', 'missing bearer token');
  return tokens.verify(token);
}
