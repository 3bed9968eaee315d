import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { ApiClient, WsClient } from '../support/client.js';
import { freePort, startProcess } from '../support/process.js';
import { profileEnv } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { eventually } from '../support/waits.js';

describe('persistence across restarts', () => {
  const tmp = tempDir();
  let child: ChildProcess | null = null;
  after(() => {
    child?.kill('SIGKILL');
    tmp.remove();
  });

  it('keeps everything after SIGTERM and after kill -9, and projections carry on', async () => {
    const port = await freePort();
    const profile = profileEnv();
    const api = new ApiClient(`http://127.0.0.1:${port}`);
    child = await startProcess(tmp.dir, port, profile);
    const a = await api.user('a');
    const b = await api.user('b');
    const c = await api.direct(a, b);
    await api.send(a, c, 'before restart');
    await api.request('PUT', `/v1/conversations/${c}/settings`, { token: b.token, body: { pinned: true } });

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, 'graceful shutdown exits 0');
    child = await startProcess(tmp.dir, port, profile);

    // Tokens survive a restart: the signing key is kept in DATA_DIR.
    let list = await api.request('GET', '/v1/conversations', { token: b.token });
    assert.equal(list.status, 200);
    assert.equal(list.body.items[0].conversationId, c);
    assert.equal(list.body.items[0].pinned, true);
    assert.equal(list.body.items[0].unreadCount, 1);

    // Acked sends over a socket, then kill -9 straight after the last ack.
    const ws = await WsClient.connect(`ws://127.0.0.1:${port}/v1/ws`, a.token);
    for (let i = 0; i < 50; i++) ws.send({ type: 'send', ref: `r${i}`, conversationId: c, clientMsgId: `k${i}`, text: `acked ${i}` });
    const acks = await ws.until((f) => {
      const acks = f.filter((x) => x.type === 'ack');
      return acks.length === 50 && acks;
    });
    child.kill('SIGKILL');
    await once(child, 'exit');
    child = await startProcess(tmp.dir, port, profile);

    // The event store is the truth about durability: every acked message is there at its seq.
    const events = await api.request('GET', `/v1/conversations/${c}/events?limit=1000`, { token: b.token });
    assert.deepEqual(events.body.items.map((e: any) => e.seq), Array.from({ length: events.body.items.length }, (_, i) => i));
    const stored = new Map(events.body.items.map((e: any) => [e.seq, e.data.messageId]));
    for (const ack of acks) assert.equal(stored.get(ack.seq), ack.messageId, `acked seq ${ack.seq} survives kill -9`);
    // The history read model catches up from its checkpoint after the restart.
    const history = await eventually(
      'the history to list the message from before the restart and every acked one',
      () => api.request('GET', `/v1/conversations/${c}/messages?limit=200`, { token: b.token }),
      (res) => res.body.items.length > acks.length,
    );
    const bySeq = new Map(history.body.items.map((m: any) => [m.seq, m.messageId]));
    for (const ack of acks) assert.equal(bySeq.get(ack.seq), ack.messageId, `acked seq ${ack.seq} is in the history`);

    // Projections resume from their checkpoints: new writes show up, nothing is counted twice.
    await api.send(a, c, 'after crash');
    list = await eventually(
      'the conversation list to show the message sent after the crash',
      () => api.request('GET', '/v1/conversations', { token: b.token }),
      (res) => res.body.items[0]?.lastMessage?.text === 'after crash',
    );
    assert.equal(list.body.items[0].unreadCount, 52);
    const sync = await api.request('GET', '/v1/sync?limit=1000', { token: b.token });
    const keys = sync.body.items.map((i: any) => `${i.conversationId}:${i.seq}`);
    assert.equal(new Set(keys).size, keys.length, 'no inbox entry twice');
    assert.equal(sync.body.items.at(-1).seq, events.body.items.length);
    await ws.close();
  });
});
