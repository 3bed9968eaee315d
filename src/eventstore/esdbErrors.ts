import {
  AccessDeniedError,
  CancelledError,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NO_STREAM,
  NotLeaderError,
  StreamDeletedError,
  TimeoutError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import { DomainError, WrongExpectedRevision } from '../domain/errors.js';
import type { ExpectedRevision } from './expectedRevision.js';

/**
 * gRPC status codes of a call cut short by the connection or a restarting server (CANCELLED, UNKNOWN,
 * DEADLINE_EXCEEDED, ABORTED, INTERNAL, UNAVAILABLE), for errors the client passes on unwrapped.
 */
const TRANSIENT_GRPC_CODES = new Set([1, 2, 4, 10, 13, 14]);

/** The client's own words when no cluster member answered gossip (Client/discovery.js): nothing was sent. */
const DISCOVERY_FAILED = /^Failed to discover after \d+ attempts/;

/**
 * What a restarting or unreachable server produces, by the client's error classes (utils/CommandError.js,
 * convertToCommandError): UNAVAILABLE, DEADLINE_EXCEEDED, a stream reset (CANCELLED), ABORTED (which the
 * client names TimeoutError), INTERNAL or an unrecognised reply such as "Server Is Not Ready" (both
 * UnknownError), a follower that is not the leader, and a failed cluster discovery.
 */
function isTransient(error: unknown): boolean {
  if (
    error instanceof UnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof CancelledError ||
    error instanceof TimeoutError ||
    error instanceof UnknownError ||
    error instanceof NotLeaderError
  ) {
    return true;
  }
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'number' && TRANSIENT_GRPC_CODES.has(code)) || DISCOVERY_FAILED.test(error.message);
}

/**
 * Whether a failed append may still have been written. Only a refusal before the write started says it
 * was not: a follower that is not the leader, or a cluster nobody could find. A deadline, a reset stream
 * or a server that stopped answering leave the write's fate unknown.
 */
export function mayHaveBeenWritten(error: unknown): boolean {
  return !(error instanceof NotLeaderError || (error instanceof Error && DISCOVERY_FAILED.test(error.message)));
}

export const unavailable = (message: string, cause?: unknown): DomainError => {
  const error = new DomainError('unavailable', message);
  if (cause !== undefined) error.cause = cause;
  return error;
};

/**
 * The domain's view of a client error: a concurrency conflict becomes WrongExpectedRevision (with the
 * stream's revision, -1 when it does not exist); a server out of reach or restarting becomes `unavailable`
 * (503, worth retrying); a deleted stream, refused credentials or an oversized append become errors that
 * say what is wrong and that retrying will not help. Anything else is passed on as it is.
 */
export function translateError(error: unknown, streamId?: string, expected?: ExpectedRevision): unknown {
  if (error instanceof DomainError) return error;
  if (error instanceof WrongExpectedVersionError && streamId !== undefined) {
    const actual = error.actualVersion === NO_STREAM ? -1 : Number(error.actualVersion);
    return new WrongExpectedRevision(streamId, expected, actual);
  }
  if (error instanceof StreamDeletedError) {
    return withCause(new DomainError('not_found', `stream ${error.streamName || streamId} has been deleted`), error);
  }
  if (error instanceof AccessDeniedError) {
    return withCause(new DomainError('misconfigured', `the event store refused access: ${error.message}`), error);
  }
  if (error instanceof MaxAppendSizeExceededError) {
    return withCause(new DomainError('too_large', `append is over the event store's limit of ${error.maxAppendSize} bytes`), error);
  }
  if (isTransient(error)) return unavailable(`event store unavailable: ${(error as Error).message}`, error);
  return error;
}

function withCause(error: DomainError, cause: unknown): DomainError {
  error.cause = cause;
  return error;
}
