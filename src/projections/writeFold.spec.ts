import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Write, WriteBatch } from './model.js';
import { foldDocument, inboxUsers, numberInboxEntries, scrubsOf, upsertsByDocument, writesToApply, type DocumentWrites } from './writeFold.js';

const membership = (userId: string, set: object, setOnInsert?: object): Write =>
  ({ kind: 'upsert', collection: 'userConversations', key: { userId, conversationId: 'c1' }, set, setOnInsert }) as Write;
const inboxOf = (userId: string, seq: number): Write => ({
  kind: 'inbox',
  entry: { userId, conversationId: 'c1', seq, type: 'MessageSent', data: {}, at: '2024-01-01T00:00:00.000Z' },
});
const at = (position: number, write: Write, projection = 'userConversations') => ({ projection, position, write });

describe('writesToApply', () => {
  const batch: WriteBatch = {
    writes: [at(10, membership('ann', {})), at(20, membership('ann', {})), at(15, inboxOf('ann', 1), 'inbox')],
    checkpoints: {},
  };
  it('drops writes at or below their own projection\'s stored checkpoint', () => {
    const positions = writesToApply(batch, { userConversations: 10, inbox: 15 }).map((w) => w.position);
    assert.deepEqual(positions, [20]);
  });
  it('keeps every write of a projection without a stored checkpoint', () => {
    assert.equal(writesToApply(batch, {}).length, 3);
  });
  it('keeps every write of a replay: each is still guarded by its document\'s position', () => {
    assert.equal(writesToApply({ ...batch, reapply: true }, { userConversations: 99, inbox: 99 }).length, 3);
  });
});

describe('upsertsByDocument', () => {
  it('groups upserts per document, in batch order, and leaves inbox writes out', () => {
    const docs = upsertsByDocument([
      at(1, membership('ann', { role: 'owner' })),
      at(2, membership('ben', { role: 'member' })),
      at(3, inboxOf('ann', 1), 'inbox'),
      at(4, membership('ann', { muted: true })),
    ]);
    assert.deepEqual(
      docs.map((d) => [d.id, d.writes.map((w) => w.position)]),
      [
        ['["ann","c1"]', [1, 4]],
        ['["ben","c1"]', [2]],
      ],
    );
  });
  it('keeps documents of different collections with the same key values apart', () => {
    const docs = upsertsByDocument([
      at(1, { kind: 'upsert', collection: 'conversations', key: { conversationId: 'x' }, set: {} }),
      at(2, { kind: 'upsert', collection: 'users', key: { userId: 'x' }, set: {} }),
    ]);
    assert.equal(docs.length, 2);
  });
});

describe('foldDocument', () => {
  const doc: DocumentWrites = {
    collection: 'userConversations',
    id: '["ann","c1"]',
    key: { userId: 'ann', conversationId: 'c1' },
    writes: [
      { position: 10, set: { pinned: true } },
      { position: 20, set: { role: 'member', readSeq: 1 }, setOnInsert: { muted: false, pinned: false } },
      { position: 30, set: { readSeq: 2 }, setOnInsert: { archived: false } },
    ],
  };
  it('folds every write into one for a new document; only the first write\'s setOnInsert creates it', () => {
    assert.deepEqual(foldDocument(doc, undefined), {
      key: doc.key,
      set: { pinned: true, role: 'member', readSeq: 2 },
      setOnInsert: {},
      position: 30,
    });
    assert.deepEqual(foldDocument({ ...doc, writes: doc.writes.slice(1) }, undefined)?.setOnInsert, { muted: false, pinned: false });
  });
  it('folds only the writes newer than the stored document, without setOnInsert', () => {
    assert.deepEqual(foldDocument(doc, 20), { key: doc.key, set: { readSeq: 2 }, setOnInsert: {}, position: 30 });
  });
  it('gives nothing to write when the stored document is as new as the batch', () => {
    assert.equal(foldDocument(doc, 30), null);
  });
  it('creates the same document in one batch as in one batch per write', () => {
    const applyOne = (stored: Record<string, unknown> | null, folded: ReturnType<typeof foldDocument>) =>
      stored ? { ...stored, ...folded!.set } : { ...folded!.key, ...folded!.setOnInsert, ...folded!.set };
    const together = applyOne(null, foldDocument(doc, undefined));
    let apart: Record<string, unknown> | null = null;
    let position: number | undefined;
    for (const write of doc.writes) {
      apart = applyOne(apart, foldDocument({ ...doc, writes: [write] }, position));
      position = write.position;
    }
    assert.deepEqual(together, apart);
  });
});

describe('numberInboxEntries', () => {
  it('numbers each user\'s entries after their stored counter, in position order', () => {
    const { entries, counters } = numberInboxEntries(
      [at(5, inboxOf('ann', 1), 'inbox'), at(5, inboxOf('ben', 1), 'inbox'), at(6, inboxOf('ann', 2), 'inbox')],
      new Map([['ann', { userSeq: 7, position: 4 }]]),
    );
    assert.deepEqual(
      entries.map(({ entry, position }) => [entry.userId, entry.userSeq, entry.seq, position]),
      [
        ['ann', 8, 1, 5],
        ['ben', 1, 1, 5],
        ['ann', 9, 2, 6],
      ],
    );
    assert.deepEqual(Object.fromEntries(counters), { ann: { userSeq: 9, position: 6 }, ben: { userSeq: 1, position: 5 } });
  });
  it('skips entries at or below the counter\'s position: a retried batch numbers the rest as the first attempt did', () => {
    const writes = [at(5, inboxOf('ann', 1), 'inbox'), at(6, inboxOf('ann', 2), 'inbox')];
    const { entries, counters } = numberInboxEntries(writes, new Map([['ann', { userSeq: 3, position: 5 }]]));
    assert.deepEqual(
      entries.map(({ entry }) => [entry.seq, entry.userSeq]),
      [[2, 4]],
    );
    assert.deepEqual(counters.get('ann'), { userSeq: 4, position: 6 });
    assert.deepEqual(numberInboxEntries(writes, counters).entries, []);
  });
  it('leaves upserts out and names only the users whose inbox grows', () => {
    const writes = [at(1, membership('cat', {})), at(2, inboxOf('ann', 1), 'inbox'), at(3, inboxOf('ann', 2), 'inbox')];
    assert.deepEqual(inboxUsers(writes), ['ann']);
    assert.equal(numberInboxEntries(writes, new Map()).entries.length, 2);
  });
});

describe('scrubsOf', () => {
  const scrub = (target: 'messages' | 'inbox', userId: string): Write => ({ kind: 'scrub', target, userId });
  it('names each scrub of the batch once, in batch order, and nothing else', () => {
    const writes = [
      at(1, scrub('messages', 'zoe'), 'messages'),
      at(1, membership('ann', {})),
      at(1, scrub('inbox', 'zoe'), 'inbox'),
      at(2, scrub('messages', 'zoe'), 'messages'),
      at(3, scrub('messages', 'yan'), 'messages'),
    ];
    assert.deepEqual(scrubsOf(writes), [
      { target: 'messages', userId: 'zoe' },
      { target: 'inbox', userId: 'zoe' },
      { target: 'messages', userId: 'yan' },
    ]);
    assert.deepEqual(upsertsByDocument(writes).length, 1);
    assert.deepEqual(inboxUsers(writes), []);
  });
});
