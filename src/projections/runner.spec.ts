import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSqlite } from '../db/sqlite.js';
import { SqliteEventStore } from '../eventstore/sqlite.js';
import { newConversationCache } from '../server.js';
import { projectionNames } from './projectors.js';
import { joinsUp, ProjectionRunner, replayedCheckpoint } from './runner.js';
import { SqliteReadStore } from './stores/sqlite.js';

// Positions as EventStoreDB reports them, log offsets: consecutive events are far apart.
const [a, b, c] = [1017, 2017, 3017];

describe('joinsUp', () => {
  it('joins a range that starts at the first event after the checkpoint', () => {
    assert.equal(joinsUp(b, b), true);
  });
  it('joins a range that starts behind the checkpoint, or a checkpoint with nothing after it', () => {
    assert.equal(joinsUp(c, a), true);
    assert.equal(joinsUp(null, c), true);
  });
  it('does not join past a gap: an event lies between the checkpoint and the range', () => {
    assert.equal(joinsUp(b, c), false);
  });
});

describe('replayedCheckpoint', () => {
  it('moves forward when the replayed range joins up with the checkpoint', () => {
    assert.equal(replayedCheckpoint(a, true, c), c);
  });
  it('never moves back for a range behind the checkpoint', () => {
    assert.equal(replayedCheckpoint(c, true, b), c);
  });
  it('stays put past a gap: the events in between were never applied', () => {
    assert.equal(replayedCheckpoint(a, false, c), a);
  });
});

describe('waiting for the read models on an instance that does not project', () => {
  it('resolves once the stored checkpoints, moved by the instance that projects, reach the position', async () => {
    const db = openSqlite(':memory:');
    const store = new SqliteEventStore(db);
    const readStore = new SqliteReadStore(db);
    const standby = new ProjectionRunner({ store, readStore, conversations: newConversationCache(store), options: { inboxPullThreshold: 500 } });
    const waiting = standby.waitFor(c, 60_000);
    await readStore.apply({ writes: [], checkpoints: Object.fromEntries(projectionNames.map((name) => [name, c])) });
    assert.equal(await waiting, true);
    db.close();
  });
});
