import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApiClient, WsClient } from '../support/client.js';
import { FcmStandIn } from '../support/fcmStandIn.js';
import { pushSettled, registerDevice } from '../support/push.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { eventually } from '../support/waits.js';

const shared = process.env.TEST_PROFILE === 'distributed' && process.env.REDIS_URL;

/**
 * Two app instances of one datacenter, as behind a load balancer: one SQLite event store file (two
 * connections, as two processes would have), one read store (FerretDB) and one Redis. Instance one
 * starts first and holds the leases: it projects and pushes; instance two follows the event feed
 * for its own sockets. The kill of a lease holder, which needs processes, is in instancesTakeover.
 */
describe('two instances of one datacenter', { skip: shared ? false : 'needs TEST_PROFILE=distributed and REDIS_URL: npm run test:infra' }, () => {
  const data = tempDir();
  const sockets: WsClient[] = [];
  let fcm: FcmStandIn;
  let one: TestServer;
  let two: TestServer;
  let api1: ApiClient;
  let api2: ApiClient;
  const connect = async (server: TestServer, user: { token: string }) => {
    const ws = await WsClient.connect(server.wsUrl, user.token);
    sockets.push(ws);
    return ws;
  };
  /** Closes a socket and waits until its server has let go of it too. */
  const disconnect = async (server: TestServer, ws: WsClient) => {
    const before = server.gateway.connectionCount;
    await ws.close();
    await eventually('the server to see the socket close', async () => server.gateway.connectionCount, (n) => n < before);
  };
  const presenceOf = (ws: WsClient, userId: string) => ws.frames.filter((f) => f.type === 'presence' && f.userId === userId).map((f) => f.online);

  before(async () => {
    fcm = await FcmStandIn.start();
    const env = { AUTH_SECRET: randomBytes(32).toString('hex'), PRESENCE_NOTIFY_INTERVAL_MS: '0', TYPING_TTL_MS: '60000', TYPING_THROTTLE_MS: '30000' };
    one = await startTestServer(env, { dataDir: data.dir, fcm: fcm.options() });
    two = await startTestServer(env, { dataDir: data.dir, fcm: fcm.options() });
    [api1, api2] = [new ApiClient(one.url), new ApiClient(two.url)];
  });
  after(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await two?.stop();
    await one?.stop();
    await fcm?.close();
    data.remove();
  });

  it('delivers a message sent through one instance to sockets on the other, over REST and WebSocket', async () => {
    const [a, b] = [await api1.user('a'), await api1.user('b')];
    const c = await api1.direct(a, b);
    const bWs = await connect(two, b);
    const sent = await api1.send(a, c, 'through one');
    assert.equal(sent.status, 201);
    const live = await bWs.next((f) => f.type === 'event' && f.conversationId === c && f.seq === sent.body.seq);
    assert.equal(live.event.data.text, 'through one');

    const aWs = await connect(one, a);
    aWs.send({ type: 'send', ref: 'r1', conversationId: c, clientMsgId: 'ws-1', text: 'over the socket on one' });
    const ack = await aWs.next((f) => f.type === 'ack' && f.ref === 'r1');
    const event = await bWs.next((f) => f.type === 'event' && f.seq === ack.seq);
    assert.equal(event.event.data.text, 'over the socket on one');
    // And back: a reply through two reaches the socket on one.
    const reply = await api2.send(b, c, 'through two');
    assert.equal((await aWs.next((f) => f.type === 'event' && f.seq === reply.body.seq)).event.data.text, 'through two');
  });

  it('passes typing from a socket on one instance to a member’s socket on the other, and to no stranger', async () => {
    const [a, b, s] = [await api1.user('a'), await api1.user('b'), await api1.user('s')];
    const c = await api1.direct(a, b);
    const [aWs, bWs, sWs] = [await connect(one, a), await connect(two, b), await connect(two, s)];
    aWs.send({ type: 'typing', conversationId: c });
    assert.deepEqual(await bWs.next((f) => f.type === 'typing'), { type: 'typing', conversationId: c, userId: a.userId, typing: true, expiresInMs: 60000 });
    bWs.send({ type: 'typing', conversationId: c });
    assert.equal((await aWs.next((f) => f.type === 'typing')).userId, b.userId);
    await sWs.fence();
    assert.equal(sWs.frames.filter((f) => f.type === 'typing').length, 0);
  });

  it('has a user online while any instance holds a socket of theirs, the same on both, each change announced once to watchers on both', async () => {
    const [a, w1, w2] = [await api1.user('a'), await api1.user('w1'), await api1.user('w2')];
    await api1.group(a, [w1, w2], 'watched');
    await eventually('the group in the read store', async () => (await api2.request('GET', '/v1/conversations', { token: w2.token })).body.items.length, (n) => n === 1);
    const [w1Ws, w2Ws] = [await connect(one, w1), await connect(two, w2)];
    const askBoth = async () => Promise.all([api1, api2].map(async (api) => (await api.request('GET', `/v1/users/${a.userId}/presence`, { token: w1.token })).body.online));

    const onOne = await connect(one, a);
    for (const ws of [w1Ws, w2Ws]) await ws.next((f) => f.type === 'presence' && f.userId === a.userId && f.online);
    assert.deepEqual(await askBoth(), [true, true]);
    const onTwo = await connect(two, a);
    await disconnect(one, onOne);
    assert.deepEqual(await askBoth(), [true, true], 'still online through two');
    await disconnect(two, onTwo);
    for (const ws of [w1Ws, w2Ws]) await ws.next((f) => f.type === 'presence' && f.userId === a.userId && !f.online);
    assert.deepEqual(await askBoth(), [false, false]);

    // A fence through each instance: a user coming online there is announced on both after anything
    // that instance announced before.
    const [f1, f2] = [await api1.user('f1'), await api1.user('f2')];
    await api1.group(f1, [w1, w2, f2], 'fences');
    await eventually('the fence group in the read store', async () => (await api2.request('GET', '/v1/conversations', { token: w2.token })).body.items.length, (n) => n === 2);
    await connect(one, f1);
    await connect(two, f2);
    for (const ws of [w1Ws, w2Ws]) for (const f of [f1, f2]) await ws.next((frame) => frame.type === 'presence' && frame.userId === f.userId);
    assert.deepEqual(presenceOf(w1Ws, a.userId), [true, false], 'the second socket and the first leaving were no news');
    assert.deepEqual(presenceOf(w2Ws, a.userId), [true, false]);
  });

  it('pushes a message to an offline member once, whichever instance took it', async () => {
    const [a, b] = [await api1.user('a'), await api1.user('b')];
    await registerDevice(api1, b, 'b-phone');
    const c = await api1.direct(a, b);
    const sent = [(await api1.send(a, c, 'via one')).body, (await api2.send(a, c, 'via two')).body];
    await pushSettled(one);
    await fcm.until(() => fcm.deliveredTo('b-phone').length >= 2);
    assert.deepEqual(fcm.deliveredTo('b-phone').map((p) => p.message.data?.messageId).sort(), sent.map((m) => m.messageId).sort());
  });

  it('pushes nothing to a member whose only socket is on the instance that does not push', async () => {
    const [a, b] = [await api1.user('a'), await api1.user('b')];
    await registerDevice(api1, b, 'b-online-on-two');
    const c = await api1.direct(a, b);
    const bWs = await connect(two, b);
    await eventually('b online on both', async () => (await api1.request('GET', `/v1/users/${b.userId}/presence`, { token: a.token })).body.online, Boolean);
    const sent = (await api1.send(a, c, 'you are online')).body;
    await bWs.next((f) => f.type === 'event' && f.seq === sent.seq);
    await pushSettled(one);
    assert.equal(fcm.received.filter((p) => p.token === 'b-online-on-two').length, 0);
  });
});
