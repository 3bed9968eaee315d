import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { z } from 'zod';
import * as s from '../../src/api/schemas.js';
import { clientFrame } from '../../src/gateway/frames.js';
import { ApiClient, WsClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Values a client could send in place of any field: wrong types, edge numbers, odd unicode, unknown fields. */
const nasty = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, -0.5, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, '', ' ', '\u0000', '\uD800', '\uFFFF', '𝔘𝔫𝔦', 'é', '\u202E', '../../etc', '%00', '__proto__'),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.string(), { maxLength: 5 }),
  fc.constant('x'.repeat(70_000)),
  fc.constant(Array.from({ length: 20_000 }, (_, i) => i)),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
);

/** A body shaped like a valid one with some fields replaced or added. */
const mutated = (valid: Record<string, unknown>) =>
  fc.record({ replace: fc.dictionary(fc.constantFrom(...Object.keys(valid), 'unknownField', '__proto__', 'constructor'), nasty, { maxKeys: 3 }) }).map(({ replace }) => ({
    ...valid,
    ...replace,
  }));

const rawBody = fc.oneof(fc.string({ maxLength: 60 }).filter((t) => t.trim() !== ''), fc.constantFrom('{', '[', '{"a":', 'null', '"str"', '123', '{"__proto__":{"x":1}}', '\u0000'));
/** Strings that are not a non-negative safe integer (zod's coercion also reads "0x10", " 5 " and "" as numbers). */
const seqLike = fc
  .oneof(fc.constantFrom('-1', '1.5', '1e400', 'NaN', '9007199254740993', '', '%', '%E0%A4%A', '[]'), fc.string({ maxLength: 12 }))
  .filter((v) => !(Number.isSafeInteger(Number(v)) && Number(v) >= 0));

describe('fuzzing: bad input never crashes the server, never appends, always answers 4xx', () => {
  let server: TestServer;
  let api: ApiClient;
  let token: string;
  let conv: string;
  let inputs = 0;
  before(async () => {
    // Limits high enough that every input reaches validation (the limits have tests of their own).
    const high = '1000000000';
    server = await startTestServer({
      SEND_RATE_PER_USER: high,
      SEND_RATE_PER_IP: high,
      LOGIN_RATE_PER_USER: high,
      LOGIN_RATE_PER_IP: high,
      WS_FRAME_RATE: high,
      WS_FRAME_BURST: high,
    });
    api = new ApiClient(server.url);
    const [a, b] = [await api.user('fa'), await api.user('fb')];
    token = a.token;
    conv = await api.group(a, [b]);
    await api.send(a, conv, 'seed');
  });
  after(async () => {
    console.log(`fuzzing: ${inputs} inputs tried`);
    await server.stop();
  });

  /** Sends one request; it must be refused with a 4xx and a helpful error, appending nothing. */
  const refused = async (method: string, path: string, body: string | undefined) => {
    inputs++;
    const head = await server.store.headPosition();
    const res = await fetch(server.url + path, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    const text = await res.text();
    assert.ok(res.status >= 400 && res.status < 500, `${method} ${path} ${body?.slice(0, 200)} -> ${res.status} ${text.slice(0, 300)}`);
    const error = JSON.parse(text).error;
    assert.equal(typeof error.code, 'string');
    assert.ok(error.message.length > 0);
    assert.doesNotMatch(text, /at .*\.(ts|js):\d+/);
    assert.equal(await server.store.headPosition(), head, `${method} ${path} appended events`);
  };

  const bodies: [string, string, Record<string, unknown>, z.ZodType][] = [
    ['POST', '/v1/users', { username: 'valid_name', password: 'long enough' }, s.registerBody],
    ['POST', '/v1/sessions', { username: 'nobody_at_all', password: 'whatever1' }, s.sessionBody],
    ['PATCH', '/v1/me', { displayName: 'x' }, s.profileBody],
    ['POST', '/v1/conversations', { kind: 'group', title: 't', memberIds: [] }, s.createConversationBody],
    ['PATCH', '/v1/conversations/:id', { title: 't' }, s.updateConversationBody],
    ['POST', '/v1/conversations/:id/members', { userId: 'u' }, s.addMemberBody],
    ['PUT', '/v1/conversations/:id/members/:id/role', { role: 'admin' }, s.roleBody],
    ['PUT', '/v1/conversations/:id/settings', { muted: true }, s.settingsBody],
    ['POST', '/v1/conversations/:id/messages', { clientMsgId: 'c', text: 't' }, s.sendBody],
    ['PATCH', '/v1/conversations/:id/messages/1', { text: 't' }, s.editBody],
    ['POST', '/v1/conversations/:id/read', { upToSeq: 1 }, s.markerBody],
    ['POST', '/v1/conversations/:id/delivered', { upToSeq: 1 }, s.markerBody],
    ['POST', '/v1/devices', { token: 't', platform: 'web' }, s.deviceBody],
  ];

  it('every body-taking route refuses malformed JSON, wrong types, huge values and unknown fields', async () => {
    for (const [method, template, valid, schema] of bodies) {
      const path = template.replaceAll(':id', conv);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            rawBody,
            mutated(valid).filter((b) => Object.keys(b).some((k) => b[k] !== valid[k]) || Object.keys(b).length !== Object.keys(valid).length).map((b) => JSON.stringify(b)),
          ),
          async (body) => {
            // A mutation can land on a valid request by chance (e.g. muted: false); only refusals are the property.
            if (schema.safeParse(parseOrUndefined(body)).success) return;
            await refused(method, path, body);
          },
        ),
        { numRuns: 50 },
      );
    }
  });

  it('every query and path parameter refuses bad seqs, limits, ids and cursors', async () => {
    const queries = [
      (v: string) => `/v1/conversations/${conv}/messages?afterSeq=${v}`,
      (v: string) => `/v1/conversations/${conv}/messages?beforeSeq=${v}&limit=2`,
      (v: string) => `/v1/conversations/${conv}/messages?limit=${v}`,
      (v: string) => `/v1/conversations/${conv}/events?afterSeq=${v}`,
      (v: string) => `/v1/sync?afterUserSeq=${v}`,
      (v: string) => `/v1/sync?limit=${v}`,
      (v: string) => `/v1/conversations?cursor=${v}x`,
      (v: string) => `/v1/conversations?limit=${v}`,
      (v: string) => `/v1/conversations/${conv}/messages/${v}`,
      (v: string) => `/v1/conversations/${v}x/events`,
      (v: string) => `/v1/users/${v}x`,
    ];
    const methods = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'DELETE', 'GET', 'GET'];
    for (const [i, make] of queries.entries()) {
      await fc.assert(
        fc.asyncProperty(seqLike, async (v) => {
          await refused(methods[i]!, make(encodeURIComponent(v)).replace(/%25/g, v.startsWith('%') ? '%' : '%25'), undefined);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('every WebSocket frame type refuses bad frames with an error frame, and the socket lives on', async () => {
    const ws = await WsClient.connect(server.wsUrl, token);
    const frames: Record<string, unknown>[] = [
      { type: 'send', ref: 'r', conversationId: conv, clientMsgId: 'c', text: 't' },
      { type: 'read', conversationId: conv, upToSeq: 1 },
      { type: 'delivered', conversationId: conv, upToSeq: 1 },
      { type: 'sync', afterUserSeq: 0 },
      { type: 'ping' },
    ];
    let n = 0;
    for (const valid of frames) {
      await fc.assert(
        // Frames over WS_MAX_PAYLOAD_BYTES close the socket with 1009 (ws.test.ts); these stay under it.
        fc.asyncProperty(fc.oneof(rawBody, mutated(valid).map((f) => JSON.stringify(f))).filter((t) => t.length < 60_000), async (text) => {
          if (clientFrame.safeParse(parseOrUndefined(text)).success) return;
          inputs++;
          const head = await server.store.headPosition();
          ws.send(text);
          const ref = `after-${n++}`;
          ws.send({ type: 'ping', ref });
          await ws.next((f) => f.ref === ref);
          const answers = ws.frames.filter((f) => f.type !== 'event' && f.ref !== ref);
          assert.equal(answers.length, 1, JSON.stringify(answers));
          assert.equal(answers[0].type, 'error', `${text.slice(0, 200)} -> ${JSON.stringify(answers[0])}`);
          assert.ok(answers[0].message.length > 0);
          assert.equal(await server.store.headPosition(), head);
          ws.frames.length = 0;
        }),
        { numRuns: 60 },
      );
    }
    assert.equal(ws.closeCode, null);
    await ws.close();
  });
});

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
