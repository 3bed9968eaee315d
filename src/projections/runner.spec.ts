import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replayedCheckpoint } from './runner.js';

describe('replayedCheckpoint', () => {
  it('moves forward when the replayed range joins up with the checkpoint', () => {
    assert.equal(replayedCheckpoint(10, 11, 20), 20);
    assert.equal(replayedCheckpoint(10, 1, 20), 20);
  });
  it('never moves back for a range behind the checkpoint', () => {
    assert.equal(replayedCheckpoint(50, 1, 20), 50);
  });
  it('stays put past a gap: the events in between were never applied', () => {
    assert.equal(replayedCheckpoint(10, 12, 20), 10);
  });
});
