import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertExpectedRevision, expectedAfter, satisfiesExpected, type ExpectedRevision } from './expectedRevision.js';

describe('expected revision', () => {
  it('any accepts every state', () => {
    assert.equal(satisfiesExpected('any', -1), true);
    assert.equal(satisfiesExpected('any', 7), true);
  });
  it('no_stream accepts only a missing stream', () => {
    assert.equal(satisfiesExpected('no_stream', -1), true);
    assert.equal(satisfiesExpected('no_stream', 0), false);
  });
  it('stream_exists accepts only an existing stream', () => {
    assert.equal(satisfiesExpected('stream_exists', -1), false);
    assert.equal(satisfiesExpected('stream_exists', 0), true);
  });
  it('an exact revision matches only itself', () => {
    assert.equal(satisfiesExpected(3, 3), true);
    assert.equal(satisfiesExpected(3, 4), false);
    assert.equal(satisfiesExpected(0, -1), false);
  });
  it('after reading nothing the next append expects no stream', () => {
    assert.equal(expectedAfter(-1), 'no_stream');
    assert.equal(expectedAfter(5), 5);
  });
  it('accepts the kinds and revisions from 0, and refuses what no store could serialise', () => {
    for (const ok of ['any', 'no_stream', 'stream_exists', 0, 41, Number.MAX_SAFE_INTEGER] as const) assertExpectedRevision(ok);
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53, 'latest' as unknown as ExpectedRevision]) {
      assert.throws(() => assertExpectedRevision(bad), RangeError, String(bad));
    }
  });
});
