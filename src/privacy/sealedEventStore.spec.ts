import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { eventMetadata } from '../commands/commandHandler.js';
import { openSqlite } from '../db/sqlite.js';
import { DomainError } from '../domain/errors.js';
import { conversationStream, userStream } from '../domain/streams.js';
import type { EventStore, EventToAppend } from '../eventstore/port.js';
import { SqliteEventStore } from '../eventstore/sqlite.js';
import { sealedEventStore } from './sealedEventStore.js';
import { SqliteKeyStore } from './sqliteKeyStore.js';
import { UserKeys, type KeyPeers } from './userKeys.js';

const ctx = { correlationId: 'spec' };

function datacenter(master: Buffer, peers: KeyPeers | null = null) {
  const db = openSqlite(':memory:');
  const kept = new SqliteEventStore(db);
  const keyStore = new SqliteKeyStore(db);
  const keys = new UserKeys(keyStore, master, peers);
  return { kept, keyStore, keys, store: sealedEventStore(kept, keys) };
}

const sent = (senderId: string, text: string): EventToAppend => ({
  type: 'MessageSent',
  data: { messageId: randomUUID(), senderId, clientMsgId: randomUUID(), kind: 'text', text, media: null },
  metadata: eventMetadata('dc1', ctx),
});

const registered = (userId: string, username: string): EventToAppend => ({
  type: 'UserRegistered',
  data: { userId, username, displayName: `${username} name`, passwordHash: 'hash' },
  metadata: eventMetadata('dc1', ctx),
});

async function dataOf(store: EventStore, streamId: string) {
  return (await store.readStream(streamId)).map((e) => e.data as Record<string, unknown>);
}

describe('sealed event store', () => {
  it('keeps personal fields only as ciphertext, and opens them on every read path', async () => {
    const dc = datacenter(randomBytes(32));
    const [alice, conversation] = [randomUUID(), conversationStream(randomUUID())];
    await dc.store.append(conversation, [sent(alice, 'hello bob')], 'no_stream');
    await dc.store.append(userStream(alice), [registered(alice, 'alice')], 'no_stream');

    const kept = JSON.stringify([...(await dc.kept.readAll(0, 100)).map((e) => e.data)]);
    for (const plain of ['hello bob', 'alice name', '"alice"']) assert.equal(kept.includes(plain), false, plain);
    assert.equal(typeof (await dataOf(dc.kept, conversation))[0]!.sealed, 'string');

    assert.equal((await dataOf(dc.store, conversation))[0]!.text, 'hello bob');
    assert.deepEqual((await dc.store.readAll(0, 100)).map((e) => (e.data as { text?: string; username?: string }).text ?? (e.data as { username: string }).username), ['hello bob', 'alice']);
    const seen: unknown[] = [];
    const subscription = dc.store.subscribeAll({ after: 0 }, (batch) => void seen.push(...batch.map((e) => e.data)));
    while (seen.length < 2) await new Promise((resolve) => setImmediate(resolve));
    await subscription.close();
    assert.equal((seen[0] as { text: string }).text, 'hello bob');
  });

  it('reads an erased owner\'s events as erased, also events written in the clear before sealing', async () => {
    const dc = datacenter(randomBytes(32));
    const [alice, bob, conversation] = [randomUUID(), randomUUID(), conversationStream(randomUUID())];
    await dc.store.append(conversation, [sent(alice, 'sealed words'), sent(bob, 'bob words')], 'no_stream');
    const carol = randomUUID();
    await dc.kept.append(conversation, [sent(alice, 'words from before sealing'), sent(carol, 'carol never had a key')], 1);
    await dc.keys.erase(alice);

    const [first, second, third, fourth] = await dataOf(dc.store, conversation);
    assert.deepEqual([first!.text, first!.media, first!.erased, 'sealed' in first!], [null, null, true, false]);
    assert.equal(second!.text, 'bob words');
    assert.deepEqual([third!.text, third!.erased], [null, true]);
    assert.equal(fourth!.text, 'carol never had a key', 'events from before sealing read as they are');
    await assert.rejects(dc.store.append(conversation, [sent(alice, 'again')], 3), (e: DomainError) => e.code === 'not_found');
  });

  it('deletes the key when it reads UserErased, before opening anything after it in the same batch', async () => {
    const dc = datacenter(randomBytes(32));
    const [alice, conversation] = [randomUUID(), conversationStream(randomUUID())];
    await dc.store.append(userStream(alice), [registered(alice, 'alice')], 'no_stream');
    await dc.store.append(conversation, [sent(alice, 'last words')], 'no_stream');
    await dc.store.append(userStream(alice), [{ type: 'UserErased', data: { usernameFreeAt: new Date().toISOString() }, metadata: eventMetadata('dc1', ctx) }], 0);
    const erasedAt = await dc.store.readAll(0, 100);
    assert.deepEqual((await dc.keyStore.find([alice])).get(alice), { state: 'erased' });
    assert.equal(JSON.stringify(erasedAt).includes('last words'), false);
    assert.equal(JSON.stringify(erasedAt).includes('"alice"'), false);
  });

  it('refuses ciphertext moved to another event', async () => {
    const dc = datacenter(randomBytes(32));
    const [alice, conversation] = [randomUUID(), conversationStream(randomUUID())];
    await dc.store.append(conversation, [sent(alice, 'one'), sent(alice, 'two')], 'no_stream');
    const [one, two] = await dc.kept.readStream(conversation);
    const moved = { ...sent(alice, 'x'), data: { ...(two!.data as object), sealed: (one!.data as { sealed: string }).sealed } };
    await dc.kept.append(conversation, [moved], 1);
    await assert.rejects(dc.store.readStream(conversation, { fromRevision: 2 }));
  });

  it('opens in another datacenter with the key fetched from its peer, and never makes a second key while the peer is out of reach', async () => {
    const master = randomBytes(32);
    const dc1 = datacenter(master);
    let reachable = true;
    const peers: KeyPeers = {
      async find(userId) {
        if (!reachable) throw new DomainError('home_dc_unavailable', 'dc1 is out of reach');
        return dc1.keys.stored(userId);
      },
    };
    const dc2 = datacenter(master, peers);
    const [alice, carol, conversation] = [randomUUID(), randomUUID(), conversationStream(randomUUID())];
    await dc1.store.append(conversation, [sent(alice, 'from dc1')], 'no_stream');
    const [copied] = await dc1.kept.readStream(conversation);
    await dc2.kept.appendAt(conversation, 0, copied!);
    assert.equal((await dataOf(dc2.store, conversation))[0]!.text, 'from dc1');

    reachable = false;
    await assert.rejects(dc2.store.append(conversationStream(randomUUID()), [sent(carol, 'carol at dc2')], 'no_stream'), (e: DomainError) => e.code === 'home_dc_unavailable');
    assert.deepEqual((await dc2.keyStore.find([carol])).get(carol), { state: 'none' });

    reachable = true;
    await dc1.keys.erase(alice);
    const bob = randomUUID();
    await dc1.store.append(conversation, [sent(bob, 'bob at dc1')], 0);
    const [, bobs] = await dc1.kept.readStream(conversation);
    await dc2.kept.appendAt(conversation, 1, bobs!);
    const [first, second] = await dataOf(dc2.store, conversation);
    assert.equal(second!.text, 'bob at dc1', "bob's key came from dc1 too");
    assert.equal(first!.text, 'from dc1', 'dc2 forgets its copy only when UserErased reaches it');
    await dc2.keys.erase(alice);
    assert.equal((await dataOf(dc2.store, conversation))[0]!.erased, true);
  });
});
