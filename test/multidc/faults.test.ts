import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as pause } from 'node:timers/promises';
import { DC_IDS, multiDcSuite, otherDc, type MultiDc } from '../support/multidc.js';
import { eventually } from '../support/waits.js';
import { verify } from './checks.js';
import { setUpConversations, startWorkload, type Conversation, type Person, type Workload } from './workload.js';

/** Small enough that the four-member groups are pull mode, so both inbox modes replicate. */
const PULL_THRESHOLD = 3;
/** Acked sends before a fault and after it: every fault hits a workload in full swing. */
const SENDS_AROUND_A_FAULT = 20;
/** How long the partition lasts: longer than any timeout of the link or the brokers' sessions. */
const PARTITION_MS = 20_000;

/** Runs `fault` under the workload, then checks the history, convergence and read models. */
async function underWorkload(stack: MultiDc, fault: (w: Workload) => Promise<void>): Promise<void> {
  const { people, conversations } = await setUpConversations(stack);
  const workload = startWorkload(stack, people, conversations);
  try {
    await workload.progress(SENDS_AROUND_A_FAULT);
    await fault(workload);
    await workload.progress(SENDS_AROUND_A_FAULT);
  } catch (error) {
    workload.abandon();
    throw error;
  }
  await workload.stop();
  const verdict = await verify(stack, conversations.map((c) => c.conversationId), workload.acked, PULL_THRESHOLD);
  const { lost, duplicated, diverged, gaps, readModelMismatches } = verdict;
  assert.deepEqual(
    { lost, duplicated, diverged, gaps, readModelMismatches },
    { lost: 0, duplicated: 0, diverged: 0, gaps: 0, readModelMismatches: 0 },
    verdict.problems.slice(0, 40).join('\n'),
  );
}

/** A send through the sender's own DC, answered as is (no retry). */
async function sendOnce(stack: MultiDc, sender: Person, conversation: Conversation, clientMsgId: string) {
  return stack.dc[sender.dc].api.request('POST', `/v1/conversations/${conversation.conversationId}/messages`, {
    token: sender.token,
    body: { clientMsgId, text: `${sender.name} across the cut` },
  });
}

describe('faults under a concurrent cross-DC workload', () => {
  const suite = multiDcSuite({ env: { INBOX_PULL_THRESHOLD: String(PULL_THRESHOLD) } });

  it('MirrorMaker 2 killed with SIGKILL and restarted', async () => {
    await underWorkload(suite.stack, async (workload) => {
      await suite.stack.killMirrorMaker();
      await workload.progress(SENDS_AROUND_A_FAULT);
      await suite.stack.startMirrorMaker();
    });
  });

  it('a broker restarted on its own data', async () => {
    await underWorkload(suite.stack, async () => {
      await suite.stack.restartBroker('dc2');
    });
  });

  it("dc2's app killed with SIGKILL and restarted on its data", async () => {
    await underWorkload(suite.stack, async (workload) => {
      const refusedBefore = workload.homeUnavailable.dc1;
      await suite.stack.killApp('dc2');
      // dc1 has noticed: its sends for streams homed in dc2 are being refused.
      await eventually('a dc1 send refused while dc2 is down', async () => workload.homeUnavailable.dc1, (n) => n > refusedBefore);
      await suite.stack.startApp('dc2');
    });
  });

  it('a partition of MirrorMaker 2 and the link for 20 s: local homes keep writing, remote homes answer 503, a retry after healing succeeds once', async () => {
    await underWorkload(suite.stack, async (workload) => {
      const acked = (sender: Person, conversation: Conversation, clientMsgId: string, body: { messageId: string; seq: number }) =>
        workload.acked.push({ conversationId: conversation.conversationId, senderId: sender.userId, clientMsgId, messageId: body.messageId, seq: body.seq });
      const [homedInDc1, homedInDc2] = workload.conversations.filter((c) => c.members.length > 2);
      const groupHomedIn = { dc1: homedInDc1!, dc2: homedInDc2! };
      const cutAt = Date.now();
      await suite.stack.partition();

      const refused: { sender: Person; conversation: Conversation; clientMsgId: string }[] = [];
      for (const dc of DC_IDS) {
        // Someone of this DC in both groups: one homed here, one across the cut.
        const sender = groupHomedIn[dc].members.find((p) => p.dc === dc && groupHomedIn[otherDc(dc)].members.includes(p))!;
        const localId = randomUUID();
        const local = await sendOnce(suite.stack, sender, groupHomedIn[dc], localId);
        assert.equal(local.status, 201, `a write homed in ${dc} during the partition: ${JSON.stringify(local.body)}`);
        acked(sender, groupHomedIn[dc], localId, local.body);

        const clientMsgId = randomUUID();
        const remote = await sendOnce(suite.stack, sender, groupHomedIn[otherDc(dc)], clientMsgId);
        assert.equal(remote.status, 503, `a write homed across the cut from ${dc}: ${JSON.stringify(remote.body)}`);
        assert.equal(remote.body.error.code, 'home_dc_unavailable');
        assert.ok(remote.headers.get('retry-after'), 'Retry-After on home_dc_unavailable');
        refused.push({ sender, conversation: groupHomedIn[otherDc(dc)], clientMsgId });
      }

      await pause(Math.max(0, PARTITION_MS - (Date.now() - cutAt)));
      await suite.stack.heal();

      for (const { sender, conversation, clientMsgId } of refused) {
        const retried = await eventually(
          `${sender.name}'s retry after healing`,
          () => sendOnce(suite.stack, sender, conversation, clientMsgId),
          (res) => res.status !== 503,
        );
        assert.equal(retried.status, 201, JSON.stringify(retried.body));
        const again = await sendOnce(suite.stack, sender, conversation, clientMsgId);
        assert.deepEqual([again.status, again.body], [200, retried.body]);
        acked(sender, conversation, clientMsgId, retried.body);
      }
    });
  });
});
