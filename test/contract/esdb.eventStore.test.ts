import { test } from 'node:test';
import { EsdbEventStore } from '../../src/eventstore/esdb.js';
import { eventStoreContract } from './eventStore.contract.js';

/**
 * The event store contract against a real EventStoreDB, e.g. the dc1 node of docker-compose.yml:
 * `ESDB_URL=esdb://localhost:2113?tls=false npm test`. Every test uses fresh streams and starts its
 * global reads at the head it saw first, so a server that already holds data is fine.
 */
const url = process.env.ESDB_URL;

if (url) {
  eventStoreContract('esdb', async () => {
    const store = EsdbEventStore.connect(url);
    return { store, cleanup: () => store.close() };
  });
} else {
  test('event store contract: esdb', {
    skip: 'not run: ESDB_URL is not set (e.g. ESDB_URL=esdb://localhost:2113?tls=false with docker compose up)',
  });
}
