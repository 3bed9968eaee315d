import type { EventStore } from './port.js';

/** Every method of `store`, bound to it: a decorator spreads this and overrides what it changes. */
export function delegatingTo(store: EventStore): EventStore {
  return {
    maxAppendBytes: store.maxAppendBytes,
    append: store.append.bind(store),
    appendAt: store.appendAt.bind(store),
    readStream: store.readStream.bind(store),
    readAll: store.readAll.bind(store),
    readAllFrom: store.readAllFrom.bind(store),
    countAfter: store.countAfter.bind(store),
    subscribeAll: store.subscribeAll.bind(store),
    headPosition: store.headPosition.bind(store),
    close: store.close.bind(store),
  };
}
