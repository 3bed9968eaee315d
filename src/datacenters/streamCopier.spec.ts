import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { tempDir } from '../../test/support/tmp.js';
import { openSqlite } from '../db/sqlite.js';
import type { RecordedEvent } from '../eventstore/port.js';
import { SqliteEventStore } from '../eventstore/sqlite.js';
import { StreamCopier } from './streamCopier.js';

const STREAM = 'conversation-c1';

const noted = (text: string) => ({
  type: 'Noted',
  data: { text },
  metadata: { eventId: randomUUID(), originDc: 'dc2', correlationId: 'c', causationId: 'c', at: new Date(0).toISOString(), schemaVersion: 1 },
});

/** Two real stores stand for the home (dc2) and this DC; the link reads the home's store. */
describe('copying a stream from its home', () => {
  let tmp: ReturnType<typeof tempDir>;
  let home: SqliteEventStore;
  let here: SqliteEventStore;
  let copier: StreamCopier;
  let linkReads: number;
  const dbs: ReturnType<typeof openSqlite>[] = [];

  beforeEach(async () => {
    tmp = tempDir();
    const open = (name: string) => {
      const db = openSqlite(join(tmp.dir, name));
      dbs.push(db);
      return new SqliteEventStore(db);
    };
    [home, here] = [open('home.db'), open('here.db')];
    linkReads = 0;
    const link = {
      readStream: async (_dc: string, streamId: string, fromRevision: number, maxCount: number) => {
        linkReads++;
        return home.readStream(streamId, { fromRevision, maxCount });
      },
    };
    copier = new StreamCopier(here, link);
    await home.append(STREAM, Array.from({ length: 10 }, (_, i) => noted(`m${i}`)), 'no_stream');
  });
  afterEach(async () => {
    await Promise.all([home.close(), here.close()]);
    for (const db of dbs.splice(0)) db.close();
    tmp.remove();
  });

  const homeEvents = (from: number, count: number) => home.readStream(STREAM, { fromRevision: from, maxCount: count });
  const ids = (events: RecordedEvent[]) => events.map((e) => e.metadata.eventId);

  it('copies an answer in one append, the same events at the same revisions, and a repeat changes nothing', async () => {
    const answer = await homeEvents(0, 10);
    const position = await copier.copyAnswer('dc2', STREAM, answer, -1, 9);
    const copied = await here.readStream(STREAM);
    assert.deepEqual(ids(copied), ids(answer));
    assert.deepEqual(copied.map((e) => e.revision), answer.map((e) => e.revision));
    assert.equal(position, copied.at(-1)!.position);
    assert.equal(await copier.copyAnswer('dc2', STREAM, answer, -1, 9), position);
    assert.equal((await here.readStream(STREAM)).length, 10);
  });

  it('fetches what the answer lacks from the home, before and after it', async () => {
    await copier.copyAnswer('dc2', STREAM, await homeEvents(4, 2), 3, 8);
    assert.deepEqual(ids(await here.readStream(STREAM)), ids(await homeEvents(0, 9)));
    assert.ok(linkReads > 0);
  });

  it('never overwrites a different event at a revision: the copy fails and the stream stays as it was', async () => {
    await here.append(STREAM, [noted('mine')], 'no_stream');
    const before = await here.readStream(STREAM);
    await assert.rejects(copier.copyAnswer('dc2', STREAM, await homeEvents(0, 10), -1, 9), /diverged/);
    assert.deepEqual(await here.readStream(STREAM), before);
  });

  it('answers that overlap, copied at once, leave the home\'s stream once', async () => {
    await Promise.all([0, 2, 4, 6].map(async (from) => copier.copyAnswer('dc2', STREAM, await homeEvents(from, 10 - from), from - 1, 9)));
    assert.deepEqual(ids(await here.readStream(STREAM)), ids(await homeEvents(0, 10)));
  });
});
