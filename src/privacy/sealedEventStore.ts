import { parseStreamId } from '../domain/streams.js';
import { delegatingTo } from '../eventstore/delegating.js';
import type { EventStore, EventToAppend, RecordedEvent } from '../eventstore/port.js';
import { erasedEventData, ownerOf, personalFields } from './erasure.js';
import { openFields, sealFields } from './sealing.js';
import type { UserKeys } from './userKeys.js';

type Data = Record<string, unknown>;

const isSealed = (data: unknown): data is Data & { sealed: string } => typeof (data as Data).sealed === 'string';

/**
 * The event store as the product's code sees it: personal fields are sealed with their owner's key
 * on the way in and opened on the way out, and an erased owner's read as erased (also in events
 * written before sealing, which still hold them in the clear). Replication and the internal link
 * use the store below, so only ciphertext leaves the datacenter; `appendAt` stores a copied event
 * exactly as it came.
 *
 * Reading an account's UserErased deletes its key here first: that is how the erase reaches every
 * datacenter, and why nothing read after it, in the same batch included, is opened.
 */
export function sealedEventStore(store: EventStore, keys: UserKeys): EventStore {
  const seal = async (streamId: string, events: EventToAppend[]): Promise<EventToAppend[]> => {
    const sealed: EventToAppend[] = [];
    for (const event of events) {
      const personal = personalFields[event.type];
      const data = event.data as Data;
      const owner = ownerOf(streamId, event.type, data);
      if (!personal || !owner || 'sealed' in data) {
        sealed.push(event);
        continue;
      }
      const fields = Object.fromEntries(personal.fields.filter((f) => data[f] !== undefined).map((f) => [f, data[f]]));
      const kept = Object.fromEntries(Object.entries(data).filter(([f]) => !(f in fields)));
      sealed.push({ ...event, data: { ...kept, sealed: sealFields(await keys.forSealing(owner), event.metadata.eventId, fields) } });
    }
    return sealed;
  };

  const open = async (events: RecordedEvent[], { live = false } = {}): Promise<RecordedEvent[]> => {
    for (const e of events) {
      if (e.type === 'UserErased') await keys.erase(parseStreamId(e.streamId)!.id, { again: live });
    }
    const sealedBy = new Set<string>();
    const clearBy = new Set<string>();
    for (const e of events) {
      const owner = ownerOf(e.streamId, e.type, e.data);
      if (owner) (isSealed(e.data) ? sealedBy : clearBy).add(owner);
    }
    if (sealedBy.size === 0 && clearBy.size === 0) return events;
    const keyOf = await keys.forOpening(sealedBy, clearBy);
    return events.map((e) => {
      const owner = ownerOf(e.streamId, e.type, e.data);
      if (!owner) return e;
      const data = e.data as Data;
      const key = keyOf.get(owner);
      if (key === 'erased') return { ...e, data: erasedEventData(e.type, data) };
      if (!isSealed(data)) return e;
      if (key === 'none' || key === undefined) {
        throw new Error(`no key is stored for user ${owner}, whose events are sealed: the key store does not belong with this event store`);
      }
      const { sealed, ...kept } = data;
      return { ...e, data: { ...kept, ...openFields(key, e.metadata.eventId, sealed) } };
    });
  };

  return {
    ...delegatingTo(store),
    append: async (streamId, events, expected) => store.append(streamId, await seal(streamId, events), expected),
    readStream: async (streamId, options) => open(await store.readStream(streamId, options)),
    readAll: async (after, maxCount) => open(await store.readAll(after, maxCount)),
    readAllFrom: async (from, maxCount) => open(await store.readAllFrom(from, maxCount)),
    subscribeAll: (options, handler) => store.subscribeAll(options, async (batch) => handler(await open(batch, { live: true }))),
  };
}
