import { assertExpectedRevision, type ExpectedRevision } from './expectedRevision.js';
import type { EventToAppend } from './port.js';

/**
 * Event ids are lower-case UUIDs of version 4 (random), 7 (time-ordered) or 5 (name-based, so that a
 * later sender may derive the id from what it sends and two sends of the same thing share one id).
 * EventStoreDB keeps ids as UUIDs and returns them in lower case, so any other spelling would not come
 * back as it went in; the SQLite store refuses the same ids so that both stores accept the same appends.
 */
const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[457][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** What every adapter checks before an append reaches its store. */
export function assertAppendable(events: EventToAppend[], expected: ExpectedRevision): void {
  if (events.length === 0) throw new RangeError('append needs at least one event');
  assertExpectedRevision(expected);
  for (const { metadata } of events) {
    if (!EVENT_ID.test(metadata.eventId)) {
      throw new RangeError(`event id ${JSON.stringify(metadata.eventId)} is not a lower-case UUID of version 4, 5 or 7`);
    }
  }
}
