import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { httpMetrics } from '../observability/http.js';
import type { Metrics } from '../observability/metrics.js';
import type { Readiness } from '../observability/readiness.js';
import { apiDocs } from './docs.js';
import { describeError } from './errors.js';
import type { RateLimits } from './limits.js';
import { openApiDocument } from './openapi.js';
import { mount } from './route.js';
import { routes, type ApiDeps } from './routes/index.js';

export interface AppOptions {
  limits: RateLimits;
  /** Resolves once the read models include `position`, so a client reads its own writes. */
  waitForProjections(position: number): Promise<unknown>;
  bodyLimitBytes: number;
  adminToken?: string;
  logger: Logger;
  version: string;
  metrics: Metrics;
  readiness(): Promise<Readiness>;
  /** The internal link's routes for the other datacenters (they parse their own bodies). */
  internalRoutes?: express.Router;
  /** Test servers: answers that differ from their route's declaration in the OpenAPI document are 500s. */
  checkAnswers?: boolean;
}

/** The web client's build (web/build.ts), the same folder whether this runs from src/ or from dist/. */
const WEB_CLIENT_DIR = fileURLToPath(new URL('../../dist/web', import.meta.url));

/** The express application: JSON in and out, request ids, one error mapping; the web client at `/`. */
export function createApp(deps: ApiDeps, options: AppOptions) {
  const app = express();
  app.disable('x-powered-by');
  // The server speaks plain HTTP (TLS ends at a proxy in front of it), and a page that upgraded its
  // requests to HTTPS could not reach it when opened at http://<host>:8080 from another machine.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.set('query parser', 'simple');
  app.use(httpMetrics(options.metrics.httpDuration));
  app.use(
    pinoHttp({
      logger: options.logger,
      genReqId: (req, res) => {
        const id = String(req.headers['x-request-id'] ?? '').slice(0, 128) || randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'debug'),
    }),
  );
  if (options.internalRoutes) app.use(options.internalRoutes);

  const all = routes(deps);
  const document = openApiDocument(all, options.version);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const readiness = await options.readiness();
    if (!readiness.ready) res.status(503).json({ status: 'unavailable', reason: readiness.reason });
    else if (readiness.degraded) res.json({ status: 'degraded', degraded: readiness.degraded });
    else res.json({ status: 'ready' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
  app.get('/v1/openapi.json', (_req, res) => {
    res.json(document);
  });
  app.use('/docs', apiDocs('/v1/openapi.json'));
  const router = express.Router();
  mount(router, all, {
    tokens: deps.tokens,
    adminToken: options.adminToken,
    limits: options.limits,
    waitForProjections: options.waitForProjections,
    bodyLimitBytes: options.bodyLimitBytes,
    checkAnswers: options.checkAnswers,
  });
  app.use(router);
  app.use(express.static(WEB_CLIENT_DIR, { index: 'index.html' }));

  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: { code: 'not_found', message: `no route ${req.method} ${req.path}` } });
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const described = describeError(error);
    if (described.status >= 500) req.log.error({ err: error }, 'request failed');
    if (described.retryAfterSeconds) res.setHeader('retry-after', String(described.retryAfterSeconds));
    // A refused request whose body is still coming (a 401 or a 413 upload) is not read to its end:
    // the connection closes after the answer.
    if (!req.complete) res.setHeader('connection', 'close');
    const { status, ...body } = described;
    res.status(status).json({ error: body });
  });
  return app;
}
