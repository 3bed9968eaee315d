import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProjectionRunner } from '../../src/projections/runner.js';
import type { ConversationDoc, MessageDoc, UserConversationDoc, Write, WriteBatch } from '../../src/projections/model.js';
import type { ReadStoreAdapter } from '../../src/projections/ports.js';
import { rankOf } from '../../src/projections/ranking.js';
import { newConversationCache } from '../../src/server.js';
import { ApiClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { PULL_THRESHOLD, workload } from '../support/workload.js';

const conversation = (conversationId: string, kind: 'direct' | 'group', memberCount: number): Write => ({
  kind: 'upsert',
  collection: 'conversations',
  key: { conversationId },
  set: { kind, memberCount } satisfies Partial<ConversationDoc>,
});

const membership = (userId: string, conversationId: string, leftSeq: number | null = null): Write => ({
  kind: 'upsert',
  collection: 'userConversations',
  key: { userId, conversationId },
  set: { leftSeq } satisfies Partial<UserConversationDoc>,
});

const inboxEntry = (userId: string, seq: number): Write => ({
  kind: 'inbox',
  entry: { userId, conversationId: 'racing', seq, type: 'MessageSent', data: {}, at: '2030-01-01T00:00:00.000Z' },
});

/** A replay batch (the stored checkpoints do not skip it) with each write at its given position. */
const replay = (writes: [position: number, write: Write][]): WriteBatch => ({
  writes: writes.map(([position, write]) => ({ projection: write.kind === 'upsert' ? write.collection : 'inbox', position, write })),
  checkpoints: {},
  reapply: true,
});

export interface ReadStoreFixture {
  store: ReadStoreAdapter;
  /** A second writer on the same storage, as a paused old instance next to a new one would be. */
  otherWriter: ReadStoreAdapter;
  cleanup(): Promise<void>;
}

/**
 * The read store contract: a workload runs on the embedded server, its events are projected into
 * the store under test, and the store must hold exactly the documents of the embedded server's
 * live SQLite read models and answer every query the same way.
 */
export function readStoreContract(name: string, makeFixture: () => Promise<ReadStoreFixture>): void {
  describe(`read store contract: ${name}`, () => {
    let server: TestServer;
    let fixture: ReadStoreFixture;
    let store: ReadStoreAdapter;
    let otherWriter: ReadStoreAdapter;
    let w: Awaited<ReturnType<typeof workload>>;

    const project = (target: ReadStoreAdapter) =>
      new ProjectionRunner({
        store: server.store,
        readStore: target,
        conversations: newConversationCache(server.store),
        options: { inboxPullThreshold: PULL_THRESHOLD },
      }).catchUp();

    before(async () => {
      server = await startTestServer({ INBOX_PULL_THRESHOLD: String(PULL_THRESHOLD) });
      w = await workload(new ApiClient(server.url));
      await server.projections.waitFor(await server.store.headPosition());
      fixture = await makeFixture();
      ({ store, otherWriter } = fixture);
      await project(store);
    });
    after(async () => {
      await fixture?.cleanup();
      await server?.stop();
    });

    it('holds exactly the documents of the live embedded read models', async () => {
      const expected = await server.readStore.dump();
      assert.deepEqual(await store.dump(), expected);
      const head = await server.store.headPosition();
      const checkpoints = await store.checkpoints();
      for (const projection of ['conversations', 'userConversations', 'messages', 'inbox', 'users']) {
        assert.equal(checkpoints[projection], head, projection);
      }
    });

    it('re-applying every event from position 0 changes nothing', async () => {
      const before = await store.dump();
      const forgetful = new Proxy(store, {
        get: (target, property, receiver) =>
          property === 'checkpoints' ? async () => ({}) : Reflect.get(target, property, receiver),
      });
      await project(forgetful);
      assert.deepEqual(await store.dump(), before);
    });

    it('lists a user\'s conversations pinned first, then by activity, with a cursor', async () => {
      const all = await store.listConversations(w.users.ann.userId, { limit: 10 });
      const expected = await server.readStore.listConversations(w.users.ann.userId, { limit: 10 });
      assert.deepEqual(all, expected);
      assert.equal(all[0]!.conversation.conversationId, w.conversations.dm, 'the pinned direct conversation comes first');
      const first = await store.listConversations(w.users.ann.userId, { limit: 1 });
      const last = first[0]!;
      const rest = await store.listConversations(w.users.ann.userId, {
        limit: 10,
        cursor: rankOf(last),
      });
      assert.deepEqual(rest, all.slice(1));
      assert.deepEqual(
        (await store.listConversations(w.users.ann.userId, { limit: 10, archived: true })).length,
        (await server.readStore.listConversations(w.users.ann.userId, { limit: 10, archived: true })).length,
      );
      assert.deepEqual(await store.listConversations('nobody', { limit: 10 }), []);
    });

    it('leaves off the list what was deleted for everyone or for oneself, unless asked for everything', async () => {
      const ids = async (s: ReadStoreAdapter, userId: string, includeUnlisted?: boolean) =>
        (await s.listConversations(userId, { limit: 100, includeUnlisted })).map((i) => i.conversation.conversationId);
      for (const user of [w.users.ann, w.users.ben, w.users.cat]) {
        assert.deepEqual(await ids(store, user.userId), await ids(server.readStore, user.userId));
        assert.deepEqual(await ids(store, user.userId, true), await ids(server.readStore, user.userId, true));
      }
      assert.equal((await ids(store, w.users.cat.userId)).includes(w.conversations.small), false, 'cat deleted the group she left');
      assert.equal((await ids(store, w.users.cat.userId, true)).includes(w.conversations.small), true);
      assert.equal((await ids(store, w.users.ann.userId, true)).length - (await ids(store, w.users.ann.userId)).length, 1, 'the group ann deleted');
    });

    it('answers membership, members, history, idempotency lookups, inbox and users like the embedded store', async () => {
      const ref = server.readStore;
      assert.deepEqual(await store.getConversation(w.conversations.small), await ref.getConversation(w.conversations.small));
      assert.equal(await store.getConversation('missing'), null);
      // A former member still lists the conversation (its history up to leftSeq stays readable).
      const catInSmallGroup = async (s: ReadStoreAdapter) =>
        (await s.listConversations(w.users.cat.userId, { limit: 100, includeUnlisted: true })).find((i) => i.conversation.conversationId === w.conversations.small)?.membership;
      assert.deepEqual(await catInSmallGroup(store), await catInSmallGroup(ref));
      assert.ok((await catInSmallGroup(store))!.leftSeq! > 0, 'cat left the small group');
      assert.deepEqual(await store.listMembers(w.conversations.small), await ref.listMembers(w.conversations.small));
      for (const range of [
        { maxSeq: 100, limit: 50 },
        { afterSeq: 2, maxSeq: 100, limit: 2 },
        { beforeSeq: 6, maxSeq: 100, limit: 2 },
        { afterSeq: 1, beforeSeq: 5, maxSeq: 3, limit: 50 },
        { maxSeq: 100, limit: 50, hidden: { clearedUpToSeq: 2, hiddenSeqs: [4] } },
        { beforeSeq: 6, maxSeq: 100, limit: 10, hidden: { clearedUpToSeq: 1, hiddenSeqs: [3, 5] } },
        { afterSeq: 0, maxSeq: 100, limit: 2, hidden: { clearedUpToSeq: -1, hiddenSeqs: [1, 2] } },
      ]) {
        assert.deepEqual(await store.listMessages(w.conversations.dm, range), await ref.listMessages(w.conversations.dm, range), JSON.stringify(range));
      }
      for (const user of [w.users.ann, w.users.ben, w.users.cat, w.users.dan]) {
        assert.deepEqual(await store.listInbox(user.userId, 0, 1000), await ref.listInbox(user.userId, 0, 1000));
        assert.deepEqual(await store.listInbox(user.userId, 3, 2), await ref.listInbox(user.userId, 3, 2));
      }
      const ids = [w.users.dan.userId, w.users.eve.userId, 'unknown'];
      const byId = (docs: { userId: string }[]) => [...docs].sort((a, b) => a.userId.localeCompare(b.userId));
      assert.deepEqual(byId(await store.getUsers(ids)), byId(await ref.getUsers(ids)));
      assert.equal((await store.getUsers([w.users.dan.userId]))[0]!.displayName, 'Daniel');
    });

    it('records message facts once per event id and reports messages per hour, daily senders and the busiest conversations', async () => {
      const facts = [
        { eventId: 'e1', conversationId: 'c1', senderId: 'u1', at: '2026-01-02T10:15:00.000Z' },
        { eventId: 'e2', conversationId: 'c1', senderId: 'u2', at: '2026-01-02T10:45:00.000Z' },
        { eventId: 'e3', conversationId: 'c1', senderId: 'u1', at: '2026-01-02T11:05:00.000Z' },
        { eventId: 'e4', conversationId: 'c2', senderId: 'u3', at: '2026-01-03T09:00:00.000Z' },
        { eventId: 'e0', conversationId: 'c9', senderId: 'u9', at: '2025-12-31T23:59:00.000Z' },
      ];
      await store.recordMessageFacts(facts);
      await store.recordMessageFacts(facts.slice(0, 2));
      const report = await store.analytics({ since: '2026-01-01T00:00:00.000Z', limit: 10 });
      assert.deepEqual(report, {
        messagesPerHour: [
          { conversationId: 'c2', hour: '2026-01-03T09:00Z', messages: 1 },
          { conversationId: 'c1', hour: '2026-01-02T11:00Z', messages: 1 },
          { conversationId: 'c1', hour: '2026-01-02T10:00Z', messages: 2 },
        ],
        dailyActiveSenders: [
          { day: '2026-01-03', senders: 1 },
          { day: '2026-01-02', senders: 2 },
        ],
        busiestConversations: [
          { conversationId: 'c1', messages: 3 },
          { conversationId: 'c2', messages: 1 },
        ],
      });
      assert.equal((await store.analytics({ since: '2026-01-01T00:00:00.000Z', limit: 1 })).busiestConversations.length, 1);
    });

    it('answers the presence queries: contacts, shared conversations, last seen', async () => {
      const writes: Write[] = [
        conversation('d-ab', 'direct', 2),
        membership('a', 'd-ab'),
        membership('b', 'd-ab'),
        conversation('g-small', 'group', 3),
        membership('a', 'g-small'),
        membership('c', 'g-small'),
        membership('gone', 'g-small', 9),
        conversation('g-big', 'group', 4),
        ...['a', 'x', 'y', 'z'].map((u) => membership(u, 'g-big')),
        conversation('d-bs', 'direct', 2),
        membership('b', 'd-bs'),
        membership('s', 'd-bs'),
      ];
      // Positions far past the workload's, replayed so the stored checkpoints do not skip them.
      await store.apply({ writes: writes.map((write, i) => ({ projection: write.kind === 'upsert' ? write.collection : 'inbox', position: 1e9 + i, write })), checkpoints: {}, reapply: true });

      // lists contacts over direct conversations and groups up to the size limit, current members only
      assert.deepEqual((await store.listContacts('a', 3)).sort(), ['b', 'c']);
      assert.deepEqual((await store.listContacts('a', 4)).sort(), ['b', 'c', 'x', 'y', 'z']);
      assert.deepEqual(await store.listContacts('gone', 10), [], 'a former member has no contacts there');

      // knows who shares a conversation, whatever its size
      assert.equal(await store.sharesConversation('a', 'b'), true);
      assert.equal(await store.sharesConversation('z', 'a'), true);
      assert.equal(await store.sharesConversation('a', 's'), false);
      assert.equal(await store.sharesConversation('c', 'gone'), false);

      // keeps the latest last-seen time whatever order they are saved in
      await store.saveLastSeen({ a: '2030-01-01T10:00:00.000Z', b: '2030-01-01T09:00:00.000Z' });
      await store.saveLastSeen({ a: '2030-01-01T08:00:00.000Z', b: '2030-01-01T11:00:00.000Z' });
      assert.deepEqual(await store.getLastSeen(['a', 'b', 'nobody']), {
        a: '2030-01-01T10:00:00.000Z',
        b: '2030-01-01T11:00:00.000Z',
      });
    });

    it('gives a document the same fields whether its writes arrive in one batch or one batch each', async () => {
      // Only the write that creates a document applies its setOnInsert, as a single upsert would.
      const writes = (conversationId: string): Write[] => [
        { kind: 'upsert', collection: 'userConversations', key: { userId: 'batched', conversationId }, set: { pinned: true } },
        {
          kind: 'upsert',
          collection: 'userConversations',
          key: { userId: 'batched', conversationId },
          set: { role: 'member', leftSeq: null },
          setOnInsert: { muted: false, pinned: false, archived: false },
        },
      ];
      const positioned = (conversationId: string) =>
        writes(conversationId).map((write, i) => ({ projection: 'userConversations', position: 2e9 + i, write }));
      await store.apply({ writes: positioned('together'), checkpoints: {}, reapply: true });
      for (const write of positioned('apart')) await store.apply({ writes: [write], checkpoints: {}, reapply: true });
      const [together] = await store.listMembers('together');
      const [apart] = await store.listMembers('apart');
      assert.deepEqual({ ...together, conversationId: 'apart' }, apart);
      assert.equal(apart!.pinned, true);
    });

    /*
     * Two writers on one store: an old instance that paused mid-batch next to a new one. Writers
     * started together interleave their reads and writes wherever the store lets them; whatever the
     * order, a document ends in the newest state either of them wrote.
     */
    it('keeps every document\'s newer state when another writer\'s older batch lands last', async () => {
      const P = 3e9;
      const conversationIds = Array.from({ length: 8 }, (_, i) => `race-${i}`);
      const racer = (conversationId: string, set: Partial<UserConversationDoc>, setOnInsert?: Partial<UserConversationDoc>): Write => ({
        kind: 'upsert',
        collection: 'userConversations',
        key: { userId: 'racer', conversationId },
        set,
        setOnInsert,
      });
      const joined = (id: string) => racer(id, { role: 'member', leftSeq: null }, { muted: false, pinned: false, archived: false });
      const promoted = (id: string) => racer(id, { role: 'admin', pinned: true });
      const muted = (id: string) => racer(id, { role: 'member', muted: true });
      const madeOwner = (id: string) => racer(id, { role: 'owner' });

      // New documents, each writer older for half of them: whichever insert lands first, an older
      // one must not hide the newer one.
      const older = (id: string): [number, Write][] => [[P + 1, joined(id)]];
      const newer = (id: string): [number, Write][] => [[P + 1, joined(id)], [P + 2, promoted(id)]];
      await Promise.all([
        store.apply(replay(conversationIds.flatMap((id, i) => (i % 2 ? newer(id) : older(id))))),
        otherWriter.apply(replay(conversationIds.flatMap((id, i) => (i % 2 ? older(id) : newer(id))))),
      ]);
      // Existing documents: the older update lands after the newer one and must not undo it. Not
      // started together: FerretDB v1 matches an update's filter and writes the document in two
      // steps, so two updates of one document at once can cross there, unlike in MongoDB.
      await otherWriter.apply(replay(conversationIds.flatMap((id) => [[P + 3, muted(id)], [P + 4, madeOwner(id)]] as [number, Write][])));
      await store.apply(replay(conversationIds.map((id) => [P + 3, muted(id)])));

      for (const id of conversationIds) {
        const [member] = await store.listMembers(id);
        assert.deepEqual({ role: member!.role, pinned: member!.pinned, muted: member!.muted, archived: member!.archived }, {
          role: 'owner',
          pinned: true,
          muted: true,
          archived: false,
        }, id);
      }
    });

    it('stores what one writer stores when two writers apply the same batch at once', async () => {
      const P = 4e9;
      const batch = (tag: string) =>
        replay([
          [P + 1, conversation(`${tag}-group`, 'group', 2)],
          [P + 1, membership(`${tag}-ann`, `${tag}-group`)],
          [P + 1, inboxEntry(`${tag}-ann`, 1)],
          [P + 2, conversation(`${tag}-group`, 'group', 3)],
          [P + 2, membership(`${tag}-ben`, `${tag}-group`)],
          [P + 2, inboxEntry(`${tag}-ann`, 2)],
          [P + 2, inboxEntry(`${tag}-ben`, 2)],
        ]);
      const stored = async (tag: string) => ({
        conversation: { ...(await store.getConversation(`${tag}-group`)), conversationId: '' },
        members: (await store.listMembers(`${tag}-group`)).map((m) => ({ ...m, userId: m.userId.replace(tag, ''), conversationId: '' })),
        inbox: [
          ...(await store.listInbox(`${tag}-ann`, 0, 10)).map((e) => ({ ...e, userId: 'ann' })),
          ...(await store.listInbox(`${tag}-ben`, 0, 10)).map((e) => ({ ...e, userId: 'ben' })),
        ],
      });
      await store.apply(batch('alone'));
      await Promise.all([store.apply(batch('twice')), otherWriter.apply(batch('twice'))]);
      assert.deepEqual(await stored('twice'), await stored('alone'));
      assert.deepEqual(
        (await stored('twice')).inbox.map((e) => [e.userId, e.userSeq, e.seq]),
        [
          ['ann', 1, 1],
          ['ann', 2, 2],
          ['ben', 1, 2],
        ],
      );
    });

    it("scrubs an erased account's content from messages, previews and inbox copies, after the batch's other writes, once", async () => {
      const P = 6e9;
      const [zoe, other, c] = ['scrub-zoe', 'scrub-other', 'scrub-c'];
      const preview = (senderId: string, seq: number) => ({
        seq, messageId: `m${seq}`, senderId, kind: 'media' as const, text: 'caption', mime: 'image/png', sentAt: '2030-01-01T00:00:00.000Z', recalled: false,
      });
      const message = (senderId: string, seq: number, content: Partial<MessageDoc>): Write => ({
        kind: 'upsert',
        collection: 'messages',
        key: { conversationId: c, seq },
        set: { messageId: `m${seq}`, senderId, clientMsgId: `m${seq}`, kind: 'text', text: 'secret', media: null, sentAt: '2030-01-01T00:00:00.000Z', editedAt: null, recalled: false, ...content },
      });
      const entry = (type: string, data: object): Write => ({
        kind: 'inbox',
        entry: { userId: other, conversationId: c, seq: 1, type, data, at: '2030-01-01T00:00:00.000Z' },
      });
      const photo = { hash: 'h', mime: 'image/png', size: 1, name: 'secret.png' };
      await store.apply(
        replay([
          [P + 1, message(zoe, 1, { kind: 'media', text: 'caption', media: photo })],
          [P + 2, message(zoe, 2, { kind: 'location', text: null, location: { lat: 1, lng: 2 } })],
          [P + 3, message(other, 3, {})],
          [P + 3, { kind: 'upsert', collection: 'conversations', key: { conversationId: c }, set: { kind: 'group', lastMessage: preview(zoe, 1) } }],
          [P + 3, { kind: 'upsert', collection: 'userConversations', key: { userId: other, conversationId: c }, set: { frozen: { lastSeq: 1, lastMessage: preview(zoe, 1), lastActivityAt: '2030-01-01T00:00:00.000Z', messageCount: 1 } } }],
          [P + 4, entry('MessageSent', { messageId: 'm1', senderId: zoe, clientMsgId: 'm1', kind: 'media', text: 'caption', media: photo })],
          [P + 5, entry('MessageEdited', { messageId: 'm1', seq: 1, editorId: zoe, text: 'secret' })],
          [P + 6, entry('MessageSent', { messageId: 'm3', senderId: other, clientMsgId: 'm3', kind: 'text', text: 'kept', media: null })],
        ]),
      );
      const ours = async () => {
        const all = await store.dump();
        const mine = (docs: unknown[]) => (docs as Record<string, unknown>[]).filter((d) => d.conversationId === c);
        return { messages: mine(all.messages!), conversations: mine(all.conversations!), userConversations: mine(all.userConversations!), inbox: mine(all.inbox!) };
      };
      const before = await ours();
      const scrubs = replay([
        // Projected before the erase in the same batch: scrubbed all the same.
        [P + 7, message(zoe, 4, {})],
        ...(['messages', 'conversationPreviews', 'frozenPreviews', 'inbox'] as const).map((target): [number, Write] => [P + 8, { kind: 'scrub', target, userId: zoe }]),
      ]);
      await store.apply(scrubs);
      const scrubbed = await ours();

      const unchanged = { _pos: P + 3, conversationId: c, seq: 3, messageId: 'm3', senderId: other, clientMsgId: 'm3', kind: 'text', text: 'secret', media: null, sentAt: '2030-01-01T00:00:00.000Z', editedAt: null, recalled: false };
      assert.deepEqual(scrubbed.messages, [
        { ...before.messages[0], text: null, media: null, erased: true },
        { ...before.messages[1], text: null, media: null, location: null, erased: true },
        unchanged,
        { ...unchanged, _pos: P + 7, seq: 4, senderId: zoe, messageId: 'm4', clientMsgId: 'm4', text: null, erased: true },
      ]);
      const { mime: _mime, ...previewKept } = preview(zoe, 1);
      const erasedPreview = { ...previewKept, text: null, erased: true };
      assert.deepEqual(scrubbed.conversations, [{ ...before.conversations[0], lastMessage: erasedPreview }]);
      const frozenBefore = before.userConversations[0]!.frozen as object;
      assert.deepEqual(scrubbed.userConversations, [{ ...before.userConversations[0], frozen: { ...frozenBefore, lastMessage: erasedPreview } }]);
      assert.deepEqual(
        scrubbed.inbox.map((e) => e.data),
        [
          { messageId: 'm1', senderId: zoe, clientMsgId: 'm1', kind: 'media', text: null, media: null, erased: true },
          { messageId: 'm1', seq: 1, editorId: zoe, text: null, erased: true },
          { messageId: 'm3', senderId: other, clientMsgId: 'm3', kind: 'text', text: 'kept', media: null },
        ],
      );
      assert.deepEqual(scrubbed.inbox.map((e) => e._pos), before.inbox.map((e) => e._pos), 'a scrub moves no position');

      await store.apply(scrubs);
      assert.deepEqual(await ours(), scrubbed, 'a scrub applied again changes nothing');
    });

    it('never gives two inbox entries one userSeq, and keeps the newer entry when two writers append at once', async () => {
      // Writers that disagree on an inbox (each saw the other's event without an entry for the
      // user, as instances with different pull thresholds would) race for the same next userSeq.
      const P = 5e9;
      const userIds = Array.from({ length: 8 }, (_, i) => `inbox-racer-${i}`);
      // Each writer has the older entry for half of the users, so either one's inserts may land first.
      const entryAt = (seq: number) => (userId: string): [number, Write] => [P + seq, inboxEntry(userId, seq)];
      await Promise.all([
        store.apply(replay(userIds.map((userId, i) => entryAt(i % 2 ? 2 : 1)(userId)))),
        otherWriter.apply(replay(userIds.map((userId, i) => entryAt(i % 2 ? 1 : 2)(userId)))),
      ]);
      await store.apply(replay(userIds.map(entryAt(3))));
      for (const userId of userIds) {
        const inbox = (await store.listInbox(userId, 0, 10)).map((e) => ({ userSeq: e.userSeq, seq: e.seq }));
        assert.ok(inbox.some((e) => e.seq === 2), `${userId}: the newer writer's entry is stored`);
        assert.deepEqual(inbox.at(-1)?.seq, 3, `${userId}: a later batch appends after both`);
        assert.deepEqual(
          inbox.map((e) => e.userSeq),
          inbox.map((_, i) => i + 1),
          `${userId}: userSeqs count up from 1 in the order of the events: ${JSON.stringify(inbox)}`,
        );
        assert.deepEqual(inbox.map((e) => e.seq), inbox.map((e) => e.seq).sort((a, b) => a - b), userId);
      }
    });
  });
}
