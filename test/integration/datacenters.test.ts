import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { toWire, topicOf } from '../../src/replication/wire.js';
import { runCli } from '../support/cli.js';
import { ApiClient, WsClient } from '../support/client.js';
import { freePort } from '../support/process.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/waits.js';

const brokers = process.env.KAFKA_BROKERS;
const skip = brokers ? false : 'needs Kafka (KAFKA_BROKERS): runs in npm run test:infra';
const SECRETS = {
  AUTH_SECRET: 'a shared token signing key of 32+ chars',
  DC_LINK_SECRET: 'the inter-datacenter link secret, 32+ chars',
  MASTER_KEY: Buffer.alloc(32, 3).toString('base64'),
};
const PASSWORD = 'correct horse';

/**
 * Two datacenters in one process sharing one Kafka broker: each publishes to its own topic and its
 * sync consumer reads the other's, as MirrorMaker 2 would deliver it (test:multidc runs the real
 * two-cluster setup). Both keep SQLite event stores of their own.
 */
describe('two datacenters', { skip }, () => {
  let dc1: TestServer;
  let dc2: TestServer;
  let api1: ApiClient;
  let api2: ApiClient;
  const id = randomUUID().slice(0, 6);
  const [one, two] = [`a${id}`, `b${id}`];
  let env2: Record<string, string>;

  before(async () => {
    const [port1, port2] = [await freePort(), await freePort()];
    const env = (self: string, port: number, peer: string, peerPort: number) => ({
      ...SECRETS,
      EVENT_STORE: 'sqlite',
      READ_STORE: 'sqlite',
      REPLICATION: 'kafka',
      KAFKA_BROKERS: brokers!,
      DC_ID: self,
      PORT: String(port),
      DC_PEERS: `${peer}=http://127.0.0.1:${peerPort}`,
      DC_PUBLIC_URLS: `${one}=http://127.0.0.1:${port1},${two}=http://127.0.0.1:${port2}`,
      DC_FORWARD_TIMEOUT_MS: '2000',
    });
    env2 = env(two, port2, one, port1);
    [dc1, dc2] = await Promise.all([startTestServer(env(one, port1, two, port2)), startTestServer(env2)]);
    await Promise.all([dc1.replication!.ready, dc2.replication!.ready]);
    [api1, api2] = [new ApiClient(dc1.url), new ApiClient(dc2.url)];
  });

  after(async () => {
    await Promise.all([dc1?.stop(), dc2?.stop()]);
  });

  const register = async (api: ApiClient, name: string) => {
    const username = `${name}_${randomUUID().slice(0, 8)}`;
    const reg = await api.request('POST', '/v1/users', { body: { username, password: PASSWORD } });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const session = await api.request('POST', '/v1/sessions', { body: { username, password: PASSWORD } });
    assert.equal(session.status, 201, JSON.stringify(session.body));
    return { userId: reg.body.userId as string, token: session.body.token as string, username };
  };

  const findable = (api: ApiClient, token: string, username: string) =>
    eventually(`${username} to reach ${api.baseUrl}`, () => api.request('GET', `/v1/users?username=${username}`, { token }), (r) => r.status === 200);

  it('alice at one DC and bob at the other find each other and chat live with the same seqs', async () => {
    const alice = await register(api1, 'alice');
    const bob = await register(api2, 'bob');
    assert.equal((await findable(api1, alice.token, bob.username)).body.userId, bob.userId);
    await findable(api2, bob.token, alice.username);

    const aliceWs = await WsClient.connect(dc1.wsUrl, alice.token);
    const bobWs = await WsClient.connect(dc2.wsUrl, bob.token);
    const conversationId = await api1.direct(alice, bob);
    // Bob opens the same conversation from his DC: the same one, whoever asks first.
    const fromBob = await api2.request('POST', '/v1/conversations', { token: bob.token, body: { kind: 'direct', memberId: alice.userId } });
    assert.equal(fromBob.body.conversationId, conversationId);

    const hello = await api1.send(alice, conversationId, 'hello from one');
    assert.equal(hello.status, 201, JSON.stringify(hello.body));
    const reply = await api2.send(bob, conversationId, 'hello from two');
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    assert.equal(reply.body.seq, hello.body.seq + 1);

    const seqOf = (ws: WsClient, text: string) =>
      ws.next((f) => f.type === 'event' && f.conversationId === conversationId && f.event?.data?.text === text).then((f) => f.seq);
    assert.equal(await seqOf(bobWs, 'hello from one'), hello.body.seq);
    assert.equal(await seqOf(aliceWs, 'hello from two'), reply.body.seq);

    // Each reads its own write at once in its own DC, with the home's seq.
    const history = await api2.request('GET', `/v1/conversations/${conversationId}/messages`, { token: bob.token });
    assert.deepEqual(history.body.items.map((m: { seq: number }) => m.seq).slice(-2), [hello.body.seq, reply.body.seq]);

    // Bob's reply counts as unread for alice in her DC (his own messages never count for him).
    await eventually(
      'alice to have one unread at her DC',
      () => api1.request('GET', '/v1/conversations', { token: alice.token }),
      (r) => r.body.items.some((c: { conversationId: string; unreadCount: number }) => c.conversationId === conversationId && c.unreadCount === 1),
    );
    const read = await api1.request('POST', `/v1/conversations/${conversationId}/read`, { token: alice.token, body: { upToSeq: reply.body.seq } });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.equal(read.body.unreadCount, 0);
    await eventually(
      "alice's read marker to reach bob's DC",
      () => api2.request('GET', `/v1/conversations/${conversationId}/messages/${reply.body.seq}/receipts`, { token: bob.token }),
      (r) => r.body.readBy?.includes(alice.userId),
    );

    bobWs.send({ type: 'typing', conversationId, typing: true });
    await aliceWs.next((f) => f.type === 'typing' && f.userId === bob.userId && f.typing === true);
    await Promise.all([aliceWs.close(), bobWs.close()]);
  });

  it('a client at the wrong datacenter is sent to its home', async () => {
    const carol = await register(api1, 'carol');
    await findable(api2, (await register(api2, 'dave')).token, carol.username);
    const login = await api2.request('POST', '/v1/sessions', { body: { username: carol.username, password: PASSWORD } });
    assert.equal(login.status, 409);
    assert.equal(login.body.error.code, 'wrong_dc');
    assert.equal(login.body.error.homeDc, one);
    assert.equal(login.body.error.url, dc1.url);
    await assert.rejects(WsClient.connect(dc2.wsUrl, carol.token), /409/);
  });

  it('a group with members in both DCs: every member sees every message at the same seq', async () => {
    const [ann, ben] = [await register(api1, 'ann'), await register(api2, 'ben')];
    await findable(api1, ann.token, ben.username);
    const groupId = await api1.group(ann, [ben], 'both');
    await eventually('the group to reach ben', () => api2.request('GET', `/v1/conversations/${groupId}`, { token: ben.token }), (r) => r.status === 200);
    const sends = [];
    for (let i = 0; i < 5; i++) {
      sends.push((await api2.send(ben, groupId, `b${i}`)).body.seq, (await api1.send(ann, groupId, `a${i}`)).body.seq);
    }
    const seqs = (api: ApiClient, token: string) =>
      eventually(
        'all ten messages',
        () => api.request('GET', `/v1/conversations/${groupId}/messages?limit=50`, { token }),
        (r) => r.body.items.length >= 10,
      ).then((r) => r.body.items.map((m: { seq: number }) => m.seq));
    assert.deepEqual(await seqs(api1, ann.token), await seqs(api2, ben.token));
    assert.equal(new Set(sends).size, 10);
  });

  it('the same username registered at both DCs at once: exactly one wins, everywhere', async () => {
    const username = `race_${randomUUID().slice(0, 8)}`;
    const answers = await Promise.all(
      [api1, api2].map((api) => api.request('POST', '/v1/users', { body: { username, password: PASSWORD } })),
    );
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409], JSON.stringify(answers.map((a) => a.body)));
    const winner = answers.find((a) => a.status === 201)!.body.userId;
    const lookup = await register(api1, 'looker');
    const other = await register(api2, 'looker');
    assert.equal((await findable(api1, lookup.token, username)).body.userId, winner);
    assert.equal((await findable(api2, other.token, username)).body.userId, winner);
  });

  it('im status shows how far the other DC\'s events are applied, and no halted stream', async () => {
    const user = await register(api1, 'status');
    await findable(api2, (await register(api2, 'statuser')).token, user.username);
    const report = await eventually(
      'the sync consumer to commit everything from the other DC',
      async () => {
        const run = await runCli(['status', '--json'], { ...env2, DATA_DIR: dc2.dataDir, LOG_LEVEL: 'silent' });
        assert.equal(run.code, 0, run.stderr);
        return JSON.parse(run.stdout);
      },
      (r) => r.replication?.sources[0]?.lagEvents === 0,
    );
    assert.equal(report.replication.sources[0].sourceDc, one);
    assert.ok(Date.parse(report.replication.sources[0].appliedAt) >= Date.parse(report.replication.sources[0].lastEventAt));
    assert.deepEqual(report.replication.halted, []);
  });

  it('a different event at a stored revision halts that stream: never overwritten, shown by im status and /metrics', async () => {
    const erin = await register(api1, 'erin');
    const viewer = await register(api2, 'viewer');
    await findable(api2, viewer.token, erin.username);
    const [registered] = await dc1.store.readStream(`user-${erin.userId}`);
    const forged = { ...registered!, metadata: { ...registered!.metadata, eventId: randomUUID() }, data: { ...(registered!.data as object), displayName: 'forged' } };
    const kafka = new Kafka({ brokers: [brokers!], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: topicOf(one), messages: [toWire(forged)] });
    await producer.disconnect();

    const halted = await eventually(
      'the stream to halt at the other DC',
      async () => JSON.parse((await runCli(['status', '--json'], { ...env2, DATA_DIR: dc2.dataDir, LOG_LEVEL: 'silent' })).stdout),
      (r) => r.replication.halted.some((h: { streamId: string }) => h.streamId === `user-${erin.userId}`),
    );
    const stopped = halted.replication.halted.find((h: { streamId: string }) => h.streamId === `user-${erin.userId}`);
    assert.deepEqual([stopped.reason, stopped.revision, stopped.eventId, stopped.foundEventId], ['diverged', 0, forged.metadata.eventId, registered!.metadata.eventId]);

    // Later events of the halted stream are skipped (counted), and what is stored stays as it was.
    const renamed = await api1.request('PATCH', '/v1/me', { token: erin.token, body: { displayName: 'Erin Renamed' } });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    await eventually(
      'the rename to be skipped at the other DC',
      async () => (await fetch(`${dc2.url}/metrics`)).text(),
      (text) => /chat_replication_events_total\{source_dc="[^"]+",outcome="halted"\} [1-9]/.test(text),
    );
    const stored = await dc2.store.readStream(`user-${erin.userId}`);
    assert.deepEqual(stored.map((e) => e.metadata.eventId), [registered!.metadata.eventId]);
  });
});
