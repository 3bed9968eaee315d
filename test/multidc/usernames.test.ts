import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { DC_IDS, multiDcSuite } from '../support/multidc.js';
import { eventually } from '../support/waits.js';
import { converge } from './checks.js';

/** Several names, so the race is run against each datacenter being the name's writer. */
const RACES = 6;

describe('the same username registered at both DCs at the same moment', () => {
  const suite = multiDcSuite();

  it('exactly one registration succeeds, and afterwards both DCs agree who holds the name', async () => {
    const { dc } = suite.stack;
    const readers = { dc1: await dc.dc1.api.user('reader'), dc2: await dc.dc2.api.user('reader') };
    for (let race = 0; race < RACES; race++) {
      const username = `race_${randomUUID().slice(0, 8)}`;
      const attempts = await Promise.all(
        DC_IDS.map((id) => dc[id].api.request('POST', '/v1/users', { body: { username, password: `correct horse ${id}` } })),
      );
      const statuses = attempts.map((a) => a.status);
      const winners = attempts.filter((a) => a.status === 201);
      assert.equal(winners.length, 1, `${username}: ${JSON.stringify(attempts.map((a) => [a.status, a.body]))}`);
      assert.ok(statuses.includes(409), `${username}: the loser is told the name is taken, not ${statuses}`);
      const holder = winners[0]!.body.userId;
      for (const id of DC_IDS) {
        await eventually(
          `${id} to name ${holder} as ${username}'s holder`,
          () => dc[id].api.request('GET', `/v1/users?username=${username}`, { token: readers[id].token }),
          (res) => res.status === 200 && res.body.userId === holder,
        );
      }
    }
    assert.deepEqual(await converge(suite.stack), []);
  });
});
