import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Topology } from './topology.js';

describe('topology', () => {
  it('homes a username in the same datacenter whichever datacenter asks, case-insensitively', () => {
    const fromDc1 = new Topology('dc1', new Map([['dc2', 'http://b'], ['dc3', 'http://c']]));
    const fromDc3 = new Topology('dc3', new Map([['dc2', 'http://b'], ['dc1', 'http://a']]));
    const names = Array.from({ length: 200 }, (_, i) => `user${i}`);
    for (const name of names) {
      assert.equal(fromDc1.usernameHome(name), fromDc3.usernameHome(name));
      assert.equal(fromDc1.usernameHome(name), fromDc1.usernameHome(name.toUpperCase()));
    }
    // Spread over every datacenter, so no one DC holds every name.
    assert.deepEqual(new Set(names.map((n) => fromDc1.usernameHome(n))), new Set(['dc1', 'dc2', 'dc3']));
  });

  it('alone, every username is homed here', () => {
    const alone = new Topology('dc7');
    assert.equal(alone.multiple, false);
    assert.equal(alone.usernameHome('anyone'), 'dc7');
  });
});
