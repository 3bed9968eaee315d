import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { openSqlite } from '../db/sqlite.js';
import { DomainError } from '../domain/errors.js';
import type { UserEvent } from '../domain/events.js';
import { usernameStream, userStream } from '../domain/streams.js';
import type { UserState } from '../domain/user.js';
import type { EventStore, EventToAppend, ExpectedRevision } from '../eventstore/port.js';
import { SqliteEventStore } from '../eventstore/sqlite.js';
import { freshAccountKeys } from '../privacy/index.js';
import { SqliteKeyStore } from '../privacy/sqliteKeyStore.js';
import { StateCache } from '../eventstore/stateCache.js';
import { newConversationCache, userFold } from '../server.js';
import { ConversationAccess } from './conversationAccess.js';
import { UserCommands } from './userCommands.js';

const TIMEOUT_MS = 200;
const context = { correlationId: 'test' };

/** Resolves once `at` is more than `ms` in the past. */
async function olderThan(at: string, ms: number): Promise<void> {
  while (Date.now() - Date.parse(at) <= ms) await delay(5);
}

describe('UserCommands registration', () => {
  it('gives up a registration whose reservation got old enough to be reclaimed, and the name is free after the timeout', async () => {
    const db = openSqlite(':memory:');
    const real = new SqliteEventStore(db);
    let reservations = 0;
    // The first registration stalls right after its reservation until half the timeout has passed.
    const store: EventStore = Object.assign(Object.create(real) as EventStore, {
      async append(streamId: string, events: EventToAppend[], expected: ExpectedRevision) {
        const result = await real.append(streamId, events, expected);
        if (events[0]?.type === 'UsernameReserved' && ++reservations === 1) await olderThan(events[0].metadata.at, TIMEOUT_MS / 2);
        return result;
      },
    });
    const users = new StateCache<UserState, UserEvent>(store, userFold);
    const account = freshAccountKeys(new SqliteKeyStore(db));
    const commands = new UserCommands(store, users, new ConversationAccess(newConversationCache(store)), {
      ...account,
      dcId: 'dc1',
      usernameReservationTimeoutMs: TIMEOUT_MS,
    });

    await assert.rejects(commands.register({ username: 'ann', password: 'correct horse' }, context), (e: DomainError) => e.code === 'unavailable');
    const [stalled] = await real.readStream(usernameStream(account.hashUsername('ann')));
    assert.deepEqual(await real.readStream(userStream((stalled!.data as { userId: string }).userId)), []);
    assert.equal(await commands.findByUsername('ann'), null);

    await olderThan(stalled!.metadata.at, TIMEOUT_MS);
    const registered = await commands.register({ username: 'ann', password: 'correct horse' }, context);
    assert.equal((await commands.findByUsername('ann'))?.userId, registered.userId);
  });
});
