import { ZodError } from 'zod';
import { DomainError, type DomainErrorCode } from '../domain/errors.js';
import { RateLimitedError } from './limits.js';

/** The one mapping of errors to HTTP statuses and wire error codes, for REST and WebSocket alike. */
const statusOf: Record<DomainErrorCode, number> = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_a_member: 403,
  not_found: 404,
  conflict: 409,
  wrong_expected_revision: 409,
  username_taken: 409,
  too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unknown_event_version: 500,
  unavailable: 503,
  home_dc_unavailable: 503,
  wrong_dc: 409,
  misconfigured: 500,
};

export interface ErrorDescription {
  status: number;
  code: string;
  message: string;
  issues?: unknown;
  /** For 429 and 503: when to try again (also sent as the Retry-After header). */
  retryAfterSeconds?: number;
  /** Fields an error adds for the client, e.g. `homeDc` and `url` of `wrong_dc`. */
  [field: string]: unknown;
}

interface HttpishError {
  status?: number;
  type?: string;
}

export function describeError(error: unknown): ErrorDescription {
  if (error instanceof RateLimitedError) {
    return { status: 429, code: error.code, message: error.message, retryAfterSeconds: error.retryAfterSeconds };
  }
  if (error instanceof DomainError) {
    return {
      status: statusOf[error.code],
      code: error.code,
      message: error.message,
      ...(error.details ? { issues: error.details } : {}),
      ...error.fields,
    };
  }
  if (error instanceof ZodError) {
    return { status: 400, code: 'validation_failed', message: summarize(error), issues: error.issues };
  }
  const e = error as HttpishError;
  if (e?.type === 'entity.too.large') return { status: 413, code: 'too_large', message: 'request body is over the size limit' };
  if (e?.type === 'entity.parse.failed') return { status: 400, code: 'invalid_json', message: 'request body is not valid JSON' };
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return { status: 415, code: 'unsupported_encoding', message: 'unsupported body encoding' };
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return { status: e.status, code: 'bad_request', message: 'the request could not be read' };
  }
  return { status: 500, code: 'internal', message: 'internal error' };
}

/** One readable line from zod issues, e.g. "text: Too big: expected string to have <=8000 characters". */
function summarize(error: ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}
