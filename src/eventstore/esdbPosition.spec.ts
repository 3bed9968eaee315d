import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromEsdbPosition, toEsdbPosition } from './esdbPosition.js';

describe('EventStoreDB position mapping', () => {
  it('maps a log offset to offset + 1, so offset 0 is position 1 and 0 stays "from the beginning"', () => {
    assert.equal(fromEsdbPosition({ commit: 0n, prepare: 0n }), 1);
    assert.equal(fromEsdbPosition({ commit: 4_096n, prepare: 4_096n }), 4_097);
  });

  it('is reversible and keeps the order of offsets', () => {
    const offsets = [0n, 1n, 250n, 1_000_000_007n, BigInt(Number.MAX_SAFE_INTEGER) - 1n];
    const positions = offsets.map((o) => fromEsdbPosition({ commit: o, prepare: o }));
    assert.deepEqual(positions, [...positions].sort((a, b) => a - b));
    for (const [i, p] of positions.entries()) assert.deepEqual(toEsdbPosition(p), { commit: offsets[i], prepare: offsets[i] });
  });

  it('refuses offsets a number cannot hold exactly instead of rounding them', () => {
    assert.equal(fromEsdbPosition({ commit: 2n ** 53n - 2n, prepare: 2n ** 53n - 2n }), Number.MAX_SAFE_INTEGER);
    assert.throws(() => fromEsdbPosition({ commit: 2n ** 53n - 1n, prepare: 2n ** 53n - 1n }), /representable/);
    assert.throws(() => fromEsdbPosition({ commit: 2n ** 64n - 1n, prepare: 2n ** 64n - 1n }), /representable/);
  });

  it('refuses positions of explicit transactions, whose commit and prepare differ', () => {
    assert.throws(() => fromEsdbPosition({ commit: 900n, prepare: 700n }), /explicit transaction/);
  });

  it('has no EventStoreDB position for 0 or a non-integer', () => {
    assert.throws(() => toEsdbPosition(0), /not an event position/);
    assert.throws(() => toEsdbPosition(1.5), /not an event position/);
  });
});
