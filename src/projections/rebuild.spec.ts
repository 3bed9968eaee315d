import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { openSqlite } from '../db/sqlite.js';
import { CURRENT_SCHEMA_VERSION } from '../domain/events.js';
import { SqliteEventStore } from '../eventstore/sqlite.js';
import { newConversationCache } from '../server.js';
import { projectionNames } from './projectors.js';
import { rebuildProjections, type RebuildTarget } from './rebuild.js';
import { ProjectionRunner } from './runner.js';
import { SqliteReadStore } from './stores/sqlite.js';
import { SqliteRebuildTarget } from './stores/sqliteRebuild.js';
import { freshRebuild } from '../../test/support/readModels.js';
import { tempDir } from '../../test/support/tmp.js';

const PAGE = 10;
const THROTTLED_PAGE = 3;
const OPTIONS = { inboxPullThreshold: 500 };
// A catch-up that ignored its target would never end here: the timeout aborts the test's signal,
// which stops it, so such a test fails instead of hanging.
const ENDS_WITHIN = { timeout: 60_000 };

/** The embedded profile: events and read models in one SQLite database, one conversation of two. */
async function embeddedChat() {
  const db = openSqlite(':memory:');
  const store = new SqliteEventStore(db);
  const metadata = () => {
    const id = randomUUID();
    return { eventId: id, originDc: 'dc1', correlationId: id, causationId: id, at: new Date().toISOString(), schemaVersion: CURRENT_SCHEMA_VERSION };
  };
  for (const userId of ['ann', 'ben']) {
    const data = { userId, username: userId, displayName: userId, passwordHash: 'x' };
    await store.append(`user-${userId}`, [{ type: 'UserRegistered', data, metadata: metadata() }], 'no_stream');
  }
  const members = [
    { userId: 'ann', role: 'owner' },
    { userId: 'ben', role: 'member' },
  ];
  const created = { conversationId: 'c1', kind: 'direct', title: null, createdBy: 'ann', members, homeDc: 'dc1' };
  await store.append('conversation-c1', [{ type: 'ConversationCreated', data: created, metadata: metadata() }], 'no_stream');
  let sent = 0;
  /** A writer: `count` messages in one append. */
  const send = async (count: number) => {
    const events = Array.from({ length: count }, () => {
      const i = sent++;
      const data = { messageId: `m${i}`, senderId: i % 2 ? 'ann' : 'ben', clientMsgId: `c${i}`, kind: 'text', text: `hello ${i}`, media: null };
      return { type: 'MessageSent', data, metadata: metadata() };
    });
    await store.append('conversation-c1', events, 'any');
  };
  return { db, store, send };
}

describe('catching up to a target position', () => {
  it('stops at the target while every batch brings more new events than it applies', ENDS_WITHIN, async (t) => {
    const chat = await embeddedChat();
    await chat.send(3 * PAGE);
    const target = await chat.store.headPosition();
    const runner = new ProjectionRunner({
      store: chat.store,
      readStore: new SqliteReadStore(chat.db),
      conversations: newConversationCache(chat.store),
      options: OPTIONS,
    });
    const reached = await runner.catchUp({ pageSize: PAGE, until: target, signal: t.signal, onBatch: () => chat.send(PAGE + 1) });
    assert.equal(reached, target);
    assert.ok((await chat.store.headPosition()) > target, 'the writer kept appending');
    chat.db.close();
  });
});

describe('rebuildProjections', () => {
  it('ends behind writers faster than its throttle, identical to a fresh full rebuild; only the throttled stretch runs in small batches', ENDS_WITHIN, async (t) => {
    const chat = await embeddedChat();
    await chat.send(3 * PAGE);
    const live = new SqliteReadStore(chat.db);
    const startHead = await chat.store.headPosition();
    // The writers wait while the swap holds the database, as the server's do for its transaction.
    let swapping = false;
    const sqlite = new SqliteRebuildTarget(chat.db);
    const target: RebuildTarget = {
      async begin(names) {
        const build = await sqlite.begin(names);
        const swap: typeof build.swap = (finish) => {
          swapping = true;
          return build.swap(finish);
        };
        return { ...build, swap };
      },
    };
    const throttled: number[] = [];
    const throttledBatches: number[] = [];
    const batches: number[] = [];

    const position = await rebuildProjections(
      projectionNames,
      { store: chat.store, target, conversations: newConversationCache(chat.store), options: OPTIONS },
      {
        pageSize: PAGE,
        throttledPageSize: THROTTLED_PAGE,
        signal: t.signal,
        // Every batch the rebuild applies, the writers append more than a batch: faster than any throttle.
        onBatch: (_reached, count) => {
          batches.push(count);
          return swapping ? undefined : chat.send(PAGE + 1);
        },
        throttle: (reached, count) => {
          throttled.push(reached);
          throttledBatches.push(count);
        },
      },
    );

    assert.equal(position, await chat.store.headPosition());
    assert.ok(position > startHead, 'the writers kept appending during the rebuild');
    assert.ok(throttled.length > 0 && throttled.every((p) => p <= startHead), `throttled at ${throttled} (start head ${startHead})`);
    assert.ok(throttledBatches.every((n) => n <= THROTTLED_PAGE), `throttled batches of ${throttledBatches}`);
    assert.ok(batches.includes(PAGE), `the chases apply full batches: ${batches}`);
    const tmp = tempDir();
    t.after(() => tmp.remove());
    assert.deepEqual(await live.dump(), await freshRebuild(chat.store, tmp.dir, OPTIONS.inboxPullThreshold));
    chat.db.close();
  });
});
