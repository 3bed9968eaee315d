import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { download, mediaFiles, png, sha256, upload } from '../support/media.js';
import { pushSettled, registerDevice } from '../support/push.js';
import { suiteServer, type SuiteServer } from '../support/suite.js';
import { FcmStandIn } from '../support/fcmStandIn.js';
import { eventually } from '../support/waits.js';

const MAX_BYTES = 3 * 1024 * 1024;
/** The embedded profile serves the bytes itself; the distributed one redirects to the object store. */
const servesBytesItself = process.env.TEST_PROFILE !== 'distributed';

/** Alice and Bob in a direct conversation, Eve a stranger to it. */
async function people(t: SuiteServer) {
  const [alice, bob, eve] = [await t.api.user('alice'), await t.api.user('bob'), await t.api.user('eve')];
  return { alice, bob, eve, c: await t.api.direct(alice, bob) };
}

const sendMedia = (t: SuiteServer, from: { token: string }, c: string, media: object, text?: string) =>
  t.api.request('POST', `/v1/conversations/${c}/messages`, { token: from.token, body: { clientMsgId: randomUUID(), media, ...(text ? { text } : {}) } });

/** Writes an upload in chunks on a raw connection; `stop` decides after each chunk whether to go on. */
function streamUpload(url: string, token: string, chunk: Buffer, stop: () => boolean, headers: Record<string, string> = {}) {
  const req = request(`${url}/v1/media`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...headers } });
  const answered = new Promise<{ status: number; body: any }>((resolve, reject) => {
    req.once('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d)).once('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(parts).toString()) }));
    });
    req.once('error', reject);
  });
  // The server may close the connection while this still writes: that ends the writing, nothing else.
  req.on('error', () => {});
  const pump = () => {
    while (!stop() && !req.destroyed) {
      if (!req.write(chunk)) return void req.once('drain', pump);
    }
  };
  pump();
  return { req, answered };
}

describe('media: upload', () => {
  const t = suiteServer({ MEDIA_MAX_BYTES: String(MAX_BYTES) });

  it('stores a photo by its SHA-256, sniffs its type, measures it and makes a thumbnail; the same file twice answers the same', async () => {
    const { alice, bob } = await people(t);
    const bytes = await png(640, 480);
    const first = await upload(t.server.url, alice.token, bytes, 'cat.png');
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const { hash, mime, size, name, width, height, thumbnail } = first.body;
    assert.deepEqual({ hash, mime, size, name, width, height }, { hash: sha256(bytes), mime: 'image/png', size: bytes.length, name: 'cat.png', width: 640, height: 480 });
    assert.deepEqual(thumbnail, { width: 320, height: 240, url: `/v1/media/${hash}/thumbnail` });
    const again = await upload(t.server.url, bob.token, bytes, 'cat.png');
    assert.deepEqual([again.status, again.body], [201, first.body]);

    const thumb = await fetch(`${t.server.url}${thumbnail.url}`, { headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(thumb.headers.get('content-type'), 'image/webp');
    const { width: w, height: h, format } = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    assert.deepEqual([w, h, format], [320, 240, 'webp']);
  });

  it('trusts the bytes, not the declared type: text called a PNG is refused with 415, and nothing stays behind', async () => {
    const { alice } = await people(t);
    const before = await mediaFiles(t.server.dataDir);
    const res = await upload(t.server.url, alice.token, Buffer.from('#!/bin/sh\necho not a picture\n'), 'cat.png');
    assert.deepEqual([res.status, res.body.error.code], [415, 'unsupported_media_type']);
    const zip = await upload(t.server.url, alice.token, Buffer.from('504b0304140000000800', 'hex'));
    assert.equal(zip.status, 415);
    assert.deepEqual(await mediaFiles(t.server.dataDir), before);
  });

  it('refuses a file over MEDIA_MAX_BYTES with 413, from its declared length or while it streams, and keeps nothing of it', async () => {
    const { alice } = await people(t);
    const before = await mediaFiles(t.server.dataDir);
    const declared = await upload(t.server.url, alice.token, Buffer.concat([await png(), randomBytes(MAX_BYTES)]));
    assert.deepEqual([declared.status, declared.body.error.code], [413, 'too_large']);
    // No length given and no end to it: only a server counting as the bytes come can answer.
    let answered = false;
    const endless = streamUpload(t.server.url, alice.token, randomBytes(64 * 1024), () => answered, { 'transfer-encoding': 'chunked' });
    const refusal = await endless.answered.finally(() => (answered = true));
    endless.req.destroy();
    assert.deepEqual([refusal.status, refusal.body.error.code], [413, 'too_large']);
    assert.deepEqual(await mediaFiles(t.server.dataDir), before);
  });

  it('an upload the client abandons half-way leaves nothing behind', async () => {
    const { alice } = await people(t);
    const spool = join(t.server.dataDir, 'media', '.tmp');
    const before = await mediaFiles(t.server.dataDir);
    const partial = () => mediaFiles(t.server.dataDir).then((files) => files.filter((f) => f.startsWith(spool) && !before.includes(f)));
    let spooling = false;
    const upload = streamUpload(t.server.url, alice.token, randomBytes(64 * 1024), () => spooling, { 'content-length': String(MAX_BYTES) });
    // Abandoned only once the server is writing it down, so there is something to clean up.
    await eventually('the upload to reach the spool', partial, (files) => files.length > 0);
    spooling = true;
    upload.answered.catch(() => {});
    upload.req.destroy();
    await eventually('the partial upload to be removed', partial, (files) => files.length === 0);
    assert.deepEqual(await mediaFiles(t.server.dataDir), before);
  });

  it('answers 401 to an upload without a good token, before reading it', async () => {
    const res = await upload(t.server.url, null, await png());
    assert.deepEqual([res.status, res.body.error.code], [401, 'unauthenticated']);
  });
});

describe('media: download', () => {
  const t = suiteServer();

  it('serves the same bytes to the uploader and to a member of a conversation where it was sent, 404 to anyone else', async () => {
    const { alice, bob, eve, c } = await people(t);
    const bytes = await png();
    const { hash } = (await upload(t.server.url, alice.token, bytes)).body;
    assert.equal((await download(t.server.url, bob.token, hash)).status, 404, 'not sent yet');
    assert.equal((await sendMedia(t, alice, c, { hash })).status, 201);
    for (const reader of [alice, bob]) {
      const got = await download(t.server.url, reader.token, hash);
      assert.equal(got.status, 200);
      assert.ok(got.bytes.equals(bytes));
      assert.equal(got.headers.get('cache-control'), 'private, max-age=31536000, immutable');
    }
    assert.equal((await download(t.server.url, eve.token, hash)).status, 404);
    assert.equal((await download(t.server.url, eve.token, 'f'.repeat(64))).status, 404);
    assert.equal((await download(t.server.url, eve.token, 'not-a-hash')).status, 400);
  });

  it('answers Range requests with 206 and the bytes asked for, 416 past the end, and 304 to a client holding the file', async () => {
    const { alice } = await people(t);
    const bytes = await png(800, 600);
    const { hash } = (await upload(t.server.url, alice.token, bytes)).body;
    const part = await download(t.server.url, alice.token, hash, { range: 'bytes=100-199' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-199/${bytes.length}`);
    assert.ok(part.bytes.equals(bytes.subarray(100, 200)));
    const tail = await download(t.server.url, alice.token, hash, { range: 'bytes=-10' });
    assert.ok(tail.bytes.equals(bytes.subarray(bytes.length - 10)));
    assert.equal((await download(t.server.url, alice.token, hash, { range: `bytes=${bytes.length + 10}-` })).status, 416);

    const whole = await download(t.server.url, alice.token, hash);
    const etag = whole.headers.get('etag')!;
    if (servesBytesItself) assert.equal(etag, `"${hash}"`);
    // As a browser revalidates (fetch alone would add `cache-control: no-cache`, which asks for the whole file).
    assert.equal((await download(t.server.url, alice.token, hash, { 'if-none-match': etag, 'cache-control': 'max-age=0' })).status, 304);
  });
});

describe('media and location messages', () => {
  let fcm: FcmStandIn;
  before(async () => {
    fcm = await FcmStandIn.start();
  });
  after(async () => fcm.close());
  const t = suiteServer({}, () => ({ fcm: fcm.options() }));

  it('a photo with a caption goes through REST into history, events, sync, the conversation list and a push that says "Photo"', async () => {
    const { alice, bob, c } = await people(t);
    await registerDevice(t.api, bob, 'bob-phone');
    const bytes = await png(640, 480);
    const { hash } = (await upload(t.server.url, alice.token, bytes, 'cat.png')).body;
    const sent = await sendMedia(t, alice, c, { hash, name: 'our cat.png' }, 'look');
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const media = { hash, mime: 'image/png', size: bytes.length, name: 'our cat.png', width: 640, height: 480 };

    const history = await t.api.request('GET', `/v1/conversations/${c}/messages`, { token: bob.token });
    const message = history.body.items.find((m: any) => m.seq === sent.body.seq);
    assert.deepEqual([message.kind, message.text, message.media], ['media', 'look', media]);
    const events = await t.api.request('GET', `/v1/conversations/${c}/events?afterSeq=${sent.body.seq - 1}`, { token: bob.token });
    assert.deepEqual(events.body.items[0].data.media, media);
    const sync = await t.api.request('GET', '/v1/sync?afterUserSeq=0&limit=100', { token: bob.token });
    assert.deepEqual(sync.body.items.find((i: any) => i.seq === sent.body.seq).data.media, media);
    const list = await t.api.request('GET', '/v1/conversations', { token: bob.token });
    const { lastMessage } = list.body.items.find((i: any) => i.conversationId === c);
    assert.deepEqual([lastMessage.kind, lastMessage.mime, lastMessage.text], ['media', 'image/png', 'look']);

    await pushSettled(t.server);
    assert.deepEqual(fcm.deliveredTo('bob-phone').map((p) => p.message.notification?.body), ['Photo: look']);
  });

  it('refuses media the sender did not upload: a made-up hash, and a file someone else uploaded', async () => {
    const { alice, bob, c } = await people(t);
    const { hash } = (await upload(t.server.url, alice.token, await png())).body;
    for (const ref of [{ hash: 'e'.repeat(64) }, { hash }]) {
      const res = await sendMedia(t, bob, c, ref);
      assert.deepEqual([res.status, res.body.error.code], [400, 'validation_failed']);
    }
    const both = await t.api.request('POST', `/v1/conversations/${c}/messages`, {
      token: alice.token,
      body: { clientMsgId: 'x', media: { hash }, location: { lat: 1, lng: 2 } },
    });
    assert.equal(both.status, 400);
  });

  it('media and a location go through the WebSocket, acknowledged to the sender and delivered live', async () => {
    const { alice, bob, c } = await people(t);
    const { hash } = (await upload(t.server.url, alice.token, await png())).body;
    const [aliceWs, bobWs] = [await t.connect(alice.token), await t.connect(bob.token)];
    aliceWs.send({ type: 'send', ref: 'photo', conversationId: c, clientMsgId: randomUUID(), media: { hash } });
    aliceWs.send({ type: 'send', ref: 'place', conversationId: c, clientMsgId: randomUUID(), location: { lat: 48.8584, lng: 2.2945, name: 'Eiffel Tower' } });
    aliceWs.send({ type: 'send', ref: 'fake', conversationId: c, clientMsgId: randomUUID(), media: { hash: 'd'.repeat(64) } });
    const [photo, place, fake] = await Promise.all(['photo', 'place', 'fake'].map((ref) => aliceWs.next((f) => f.ref === ref)));
    assert.equal(photo.type, 'ack');
    assert.equal(place.type, 'ack');
    assert.deepEqual([fake.type, fake.code], ['error', 'validation_failed']);
    const live = await bobWs.until((frames) => {
      const seqs = frames.filter((f) => f.type === 'event' && f.conversationId === c).map((f) => f.seq);
      return seqs.includes(photo.seq) && seqs.includes(place.seq) && frames;
    });
    const data = (seq: number) => live.find((f: any) => f.type === 'event' && f.seq === seq).event.data;
    assert.deepEqual([data(photo.seq).kind, data(photo.seq).media.hash], ['media', hash]);
    assert.deepEqual([data(place.seq).kind, data(place.seq).location], ['location', { lat: 48.8584, lng: 2.2945, name: 'Eiffel Tower' }]);
    // A WebSocket ack does not wait for the read models, as a REST answer does.
    const history = await eventually(
      'the location in the history',
      () => t.api.request('GET', `/v1/conversations/${c}/messages`, { token: bob.token }),
      (res) => res.body.items.some((m: any) => m.seq === place.seq),
    );
    assert.deepEqual(history.body.items.find((m: any) => m.seq === place.seq).location, { lat: 48.8584, lng: 2.2945, name: 'Eiffel Tower' });
  });

  it('a recall hides the file: gone from history and events, and only its uploader still downloads it', async () => {
    const { alice, bob, c } = await people(t);
    const { hash } = (await upload(t.server.url, alice.token, await png())).body;
    const { seq } = (await sendMedia(t, alice, c, { hash })).body;
    assert.equal((await download(t.server.url, bob.token, hash)).status, 200);
    assert.equal((await t.api.request('DELETE', `/v1/conversations/${c}/messages/${seq}`, { token: alice.token })).status, 200);

    const history = await t.api.request('GET', `/v1/conversations/${c}/messages`, { token: bob.token });
    assert.deepEqual(history.body.items.find((m: any) => m.seq === seq).media, null);
    const events = await t.api.request('GET', `/v1/conversations/${c}/events`, { token: bob.token });
    assert.equal(JSON.stringify(events.body).includes(hash), false);
    const sync = await t.api.request('GET', '/v1/sync?afterUserSeq=0&limit=100', { token: bob.token });
    assert.equal(JSON.stringify(sync.body).includes(hash), false);
    assert.equal((await download(t.server.url, bob.token, hash)).status, 404);
    assert.equal((await download(t.server.url, alice.token, hash)).status, 200);
  });
});
