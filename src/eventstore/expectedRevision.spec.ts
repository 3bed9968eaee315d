import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedAfter, satisfiesExpected } from './expectedRevision.js';

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
});
