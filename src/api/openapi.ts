import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { refusalsOf, type Answer, type RefusalStatus } from './answers.js';
import { errorBody } from './responses.js';
import type { RouteSpec } from './route.js';

/** The OpenAPI 3.1 document, generated from the zod schemas that validate requests and describe answers. */
export function openApiDocument(routes: RouteSpec[], version: string) {
  const paths: ZodOpenApiPathsObject = {};
  for (const r of routes) (paths[r.path.replace(/:(\w+)/g, '{$1}')] ??= {})[r.method] = operation(r);
  return createDocument({
    openapi: '3.1.0',
    info: { title: 'Chat backend API', version },
    security: [{ bearer: [] }],
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  });
}

const RAW_BYTES = { type: 'string', format: 'binary' } as const;

function operation(r: RouteSpec): ZodOpenApiOperationObject {
  return {
    summary: r.summary,
    ...(r.auth === false ? { security: [] } : {}),
    requestParams: { ...(r.params ? { path: r.params } : {}), ...(r.query ? { query: r.query } : {}) },
    // A request without a body is read as `{}`: the body is optional where `{}` is valid.
    ...(r.body ? { requestBody: { required: !r.body.safeParse({}).success, content: { 'application/json': { schema: r.body } } } } : {}),
    ...(r.streamBody ? { requestBody: { required: true, content: { 'application/octet-stream': { schema: RAW_BYTES } } } } : {}),
    responses: { ...successes(r), ...refusals(r) },
  };
}

function successes(r: RouteSpec): ZodOpenApiResponsesObject {
  return Object.fromEntries(Object.entries(r.responses).map(([status, answer]) => [status, { description: answer.description, ...content(answer) }]));
}

function content(answer: Answer) {
  if (answer.json) return { content: { 'application/json': { schema: answer.json } } };
  if (answer.file) return { content: { [answer.file]: { schema: RAW_BYTES } } };
  return {};
}

const REFUSALS: Record<RefusalStatus, string> = {
  400: 'Invalid input: `validation_failed` (with the zod `issues`), `invalid_json` or `bad_request`',
  401: '`unauthenticated`: no bearer token, or a bad, expired or revoked one (logging in: wrong username or password)',
  403: '`forbidden` or `not_a_member`',
  404: '`not_found`',
  409: '`conflict`, `username_taken`, `wrong_expected_revision` (worth retrying), or `wrong_dc` with `homeDc` and `url`',
  413: '`too_large`: the body, the file or the group is over its limit',
  415: '`unsupported_encoding` of a JSON body, or `unsupported_media_type` of an upload',
  429: '`rate_limited`, with `retryAfterSeconds` and a Retry-After header',
  503: '`unavailable` or `home_dc_unavailable`: a store or the home datacenter is out of reach; nothing was stored, worth retrying',
};

function refusals(r: RouteSpec): ZodOpenApiResponsesObject {
  return Object.fromEntries(
    refusalsOf(r).map((status) => [status, { description: REFUSALS[status], content: { 'application/json': { schema: errorBody } } }]),
  );
}
