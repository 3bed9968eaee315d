/**
 * Domain errors are typed values. Each carries a stable `code`; the API and the gateway map
 * codes to HTTP statuses and WS error frames in one place (src/api/errors.ts).
 */
const DOMAIN_ERROR_CODES = [
  'validation_failed',
  'unauthenticated',
  'forbidden',
  'not_a_member',
  'not_found',
  'conflict',
  'wrong_expected_revision',
  'username_taken',
  'too_large',
  /** An upload whose content (sniffed, not as declared) is not a type the service stores. */
  'unsupported_media_type',
  'rate_limited',
  'unknown_event_version',
  'unavailable',
  /** The stream is written by another datacenter, out of reach now: nothing was stored. */
  'home_dc_unavailable',
  /** The user belongs to another datacenter: the client should move there. */
  'wrong_dc',
  /** The service is set up wrongly (e.g. the event store refuses its credentials): retrying does not help. */
  'misconfigured',
] as const;

export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];


/** True for a code a DomainError may carry (an answer from another datacenter names one). */
export const isDomainErrorCode = (code: string): code is DomainErrorCode => (DOMAIN_ERROR_CODES as readonly string[]).includes(code);

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: unknown,
    /** Added to the error the client receives (e.g. `homeDc` of `wrong_dc`, `retryAfterSeconds`). */
    readonly fields?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** A store or service out of reach: the one kind of failure worth retrying as it is. */
export const isUnavailable = (error: unknown): boolean => error instanceof DomainError && error.code === 'unavailable';

export const notFound = (what: string) => new DomainError('not_found', `${what} not found`);
export const forbidden = (message: string) => new DomainError('forbidden', message);
export const conflict = (message: string) => new DomainError('conflict', message);
export const invalid = (message: string, details?: unknown) =>
  new DomainError('validation_failed', message, details);
export const notAMember = () =>
  new DomainError('not_a_member', 'you are not a member of this conversation');

export class WrongExpectedRevision extends DomainError {
  constructor(
    readonly streamId: string,
    readonly expected: unknown,
    readonly actual: number,
  ) {
    super(
      'wrong_expected_revision',
      `stream ${streamId}: expected revision ${String(expected)}, actual ${actual}`,
    );
  }
}
