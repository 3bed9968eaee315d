import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { tempDir } from '../../test/support/tmp.js';
import { eventually } from '../../test/support/waits.js';
import { openSqlite } from '../db/sqlite.js';
import type { RecordedEvent } from './port.js';
import { SqliteEventStore } from './sqlite.js';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const event = (text: string) => ({
  type: 'Noted',
  data: { text },
  metadata: { eventId: randomUUID(), originDc: 'dc1', correlationId: 'c', causationId: 'c', at: new Date(0).toISOString(), schemaVersion: 1 },
});

/** Two connections to one file stand for two processes: SQLite tells neither of the other's commits. */
describe('SQLite event store shared by two processes', () => {
  let tmp: ReturnType<typeof tempDir>;
  let writerDb: ReturnType<typeof openSqlite>;
  let readerDb: ReturnType<typeof openSqlite>;
  beforeEach(() => {
    tmp = tempDir();
    writerDb = openSqlite(join(tmp.dir, 'chat.db'));
    readerDb = openSqlite(join(tmp.dir, 'chat.db'));
    // setImmediate stays real: it runs the writer's group commit.
    mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  });
  afterEach(() => {
    mock.timers.reset();
    writerDb.close();
    readerDb.close();
    tmp.remove();
  });

  it('a waiting live reader sees another process’s append within 20 ms', async () => {
    const writer = new SqliteEventStore(writerDb);
    const reader = new SqliteEventStore(readerDb);
    const seen: RecordedEvent[] = [];
    const subscription = reader.subscribeAll({ after: 0 }, (batch) => void seen.push(...batch));
    await settle();
    await writer.append('notes-1', [event('from the other process')], 'no_stream');
    await settle();
    assert.equal(seen.length, 0, 'nothing tells the reader at once');
    mock.timers.tick(20);
    for (let i = 0; i < 5 && seen.length === 0; i++) await settle();
    assert.deepEqual(seen.map((e) => e.data), [{ text: 'from the other process' }]);
    await subscription.close();
    await reader.close();
  });
});

describe('SQLite event store without readers', () => {
  it('stops checking for other writers once its last live reader is closed, so a process can exit', async () => {
    const db = openSqlite(':memory:');
    const store = new SqliteEventStore(db);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const subscription = store.subscribeAll({ after: 0 }, () => undefined);
    await eventually('the reader to wait, checking for other writers', async () => timers(), (n) => n > before);
    await subscription.close();
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(timers(), before);
    await store.close();
    db.close();
  });
});
