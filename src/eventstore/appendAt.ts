import { WrongExpectedRevision } from '../domain/errors.js';
import { expectedAfter } from './expectedRevision.js';
import type { AppendAtOutcome, EventStore, EventToAppend } from './port.js';

/**
 * Appends `event` at exactly `revision`, for a replica that copies another datacenter's streams, and
 * says what happened. Both adapters use this one implementation so they answer alike.
 *
 * The revision is looked at first because a retried append is idempotent on both stores: appending an
 * event that is already there would succeed and could not be told apart from a fresh append.
 */
export async function appendAt(
  store: Pick<EventStore, 'append' | 'readStream'>,
  streamId: string,
  revision: number,
  event: EventToAppend,
): Promise<AppendAtOutcome> {
  if (!Number.isSafeInteger(revision) || revision < 0) throw new RangeError(`not a revision: ${revision}`);
  const present = await compareAt(store, streamId, revision, event);
  if (present) return present;
  try {
    const { position } = await store.append(streamId, [event], expectedAfter(revision - 1));
    return { outcome: 'appended', position };
  } catch (error) {
    if (!(error instanceof WrongExpectedRevision)) throw error;
    if (error.actual < revision - 1) return { outcome: 'gap', lastRevision: error.actual };
    // Someone else wrote `revision` between the look and the append.
    const raced = await compareAt(store, streamId, revision, event);
    if (raced) return raced;
    throw error;
  }
}

async function compareAt(
  store: Pick<EventStore, 'readStream'>,
  streamId: string,
  revision: number,
  event: EventToAppend,
): Promise<AppendAtOutcome | null> {
  const [found] = await store.readStream(streamId, { fromRevision: revision, maxCount: 1 });
  if (!found) return null;
  return found.metadata.eventId === event.metadata.eventId
    ? { outcome: 'duplicate', position: found.position }
    : { outcome: 'diverged', foundEventId: found.metadata.eventId, position: found.position };
}
