import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Timelines } from './timelines.js';
import type { ChatEvent } from './types.js';

const event = (seq: number, conversationId = 'c1') =>
  ({ conversationId, seq, type: 'MessageRead', data: { userId: 'u', upToSeq: seq }, at: '2024-01-01T00:00:00.000Z' }) as ChatEvent;
const seqs = (events: ChatEvent[]) => events.map((e) => e.seq);

describe('Timelines', () => {
  it('surfaces the next seq and drops anything already surfaced', () => {
    const timelines = new Timelines({ c1: 4 });
    assert.deepEqual(seqs(timelines.admit(event(5))), [5]);
    assert.deepEqual(seqs(timelines.admit(event(5))), []);
    assert.deepEqual(seqs(timelines.admit(event(3))), []);
    assert.deepEqual(timelines.position(), { c1: 5 });
  });

  it('holds events past a gap and releases them in order once it is filled', () => {
    const timelines = new Timelines({ c1: 1 });
    assert.deepEqual(seqs(timelines.admit(event(4))), []);
    assert.deepEqual(seqs(timelines.admit(event(3))), []);
    assert.deepEqual(timelines.gap('c1'), { conversationId: 'c1', afterSeq: 1, beforeSeq: 3 });
    assert.deepEqual(seqs(timelines.admit(event(2))), [2, 3, 4]);
    assert.equal(timelines.gap('c1'), null);
  });

  it('starts the track of an unknown conversation at its first event', () => {
    const timelines = new Timelines();
    assert.deepEqual(seqs(timelines.admit(event(7, 'c2'))), [7]);
    assert.deepEqual(seqs(timelines.admit(event(9, 'c2'))), []);
    assert.deepEqual(timelines.gap('c2'), { conversationId: 'c2', afterSeq: 7, beforeSeq: 9 });
  });

  it('moves a tracked position only forward, dropping held events it covers', () => {
    const timelines = new Timelines({ c1: 5 });
    timelines.admit(event(8));
    timelines.track('c1', 3);
    assert.equal(timelines.lastSeq('c1'), 5);
    timelines.track('c1', 8);
    assert.equal(timelines.gap('c1'), null);
    assert.deepEqual(seqs(timelines.admit(event(9))), [9]);
  });

  it('forgets held events on a reconnect, whose sync replays them', () => {
    const timelines = new Timelines({ c1: 1 });
    timelines.admit(event(3));
    timelines.dropHeld();
    assert.equal(timelines.gap('c1'), null);
    assert.deepEqual(seqs(timelines.admit(event(2))), [2]);
  });
});
