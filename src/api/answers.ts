import { z } from 'zod';
import { DomainError } from '../domain/errors.js';
import { describeError } from './errors.js';
import type { RouteResult, RouteSpec } from './route.js';

/**
 * One successful answer of a route: a JSON body of a schema, a file of a media type, or no body.
 * The same declaration feeds the OpenAPI document and the test servers' check of every answer.
 */
export type Answer = { description: string } & ({ json: z.ZodType; file?: never } | { file: string; json?: never } | { json?: never; file?: never });

export const json = (description: string, schema: z.ZodType): Answer => ({ description, json: schema });
/** `mediaType` may be a range (`*\/*`) when the file's own type is sent. */
export const file = (description: string, mediaType: string): Answer => ({ description, file: mediaType });
export const noBody = (description: string): Answer => ({ description });

/** The refusals the API gives, each as `{error: {code, message, ...}}`. */
export type RefusalStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503;

/**
 * The refusals a route can give: those its declaration implies (input to validate, a caller to
 * authenticate, a body that can be too large, a rate limit, stores that can be out of reach) and
 * those its handler gives (`refusals`).
 */
export function refusalsOf(spec: RouteSpec): RefusalStatus[] {
  const implied: [boolean, RefusalStatus[]][] = [
    [Boolean(spec.params || spec.query || spec.body), [400]],
    [spec.auth !== false, [401]],
    [spec.auth === 'admin', [403]],
    [Boolean(spec.body || spec.streamBody), [413, 415]],
    [Boolean(spec.rateLimit), [429]],
    [true, [503]],
  ];
  const statuses = new Set([...implied.flatMap(([applies, statuses]) => (applies ? statuses : [])), ...(spec.refusals ?? [])]);
  return [...statuses].sort((a, b) => a - b);
}

/**
 * Runs a route and holds its answer to its declaration: a refusal of a status it does not list, a
 * success status it does not declare, or a body off its schema becomes a 500 naming the
 * difference, so the OpenAPI document cannot drift from the routes unnoticed. Test servers turn
 * this on; production answers as the handlers say.
 */
export async function checkedAnswer(spec: RouteSpec, run: () => Promise<RouteResult>): Promise<RouteResult> {
  const result = await run().catch((error: unknown) => {
    const { status } = describeError(error);
    throw status < 500 && !refusalsOf(spec).includes(status as RefusalStatus) ? drift(spec, `refused with ${status}, which it does not list`) : error;
  });
  const problem = answerProblem(spec, result);
  if (problem) throw drift(spec, problem);
  return result;
}

function answerProblem(spec: RouteSpec, result: RouteResult): string | null {
  const status = result.status ?? spec.status;
  const answer = spec.responses[status];
  if (!answer) return `answered ${status}, which it does not declare`;
  if (answer.json) {
    // Checked as the client receives it: JSON leaves out undefined fields.
    const parsed = answer.json.safeParse(result.body === undefined ? undefined : JSON.parse(JSON.stringify(result.body)));
    return parsed.success ? null : `answered ${status} off its schema: ${z.prettifyError(parsed.error)}`;
  }
  if (result.body !== undefined) return `answered ${status} with a JSON body it does not declare`;
  if (Boolean(result.stream) !== Boolean(answer.file)) return `answered ${status} ${result.stream ? 'with' : 'without'} a file, unlike its declaration`;
  return null;
}

const drift = (spec: RouteSpec, problem: string) => new DomainError('misconfigured', `${spec.method.toUpperCase()} ${spec.path} ${problem}`);
