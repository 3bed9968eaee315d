import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { ApiClient, WsClient, type Reply } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ROLES = ['owner', 'admin', 'member', 'removed', 'nonMember', 'anonymous', 'expired'] as const;
type Role = (typeof ROLES)[number];
const USERS: Role[] = ['owner', 'admin', 'member', 'removed', 'nonMember'];
const MEMBERS: Role[] = ['owner', 'admin', 'member'];
const VISIBLE: Role[] = [...MEMBERS, 'removed'];
const SECRET = 'matrix-secret-matrix-secret-matrix-secret';
const ADMIN_TOKEN = 'matrix-admin-token-0123456789';

interface Caller {
  role: Role;
  token?: string;
  userId?: string;
  username?: string;
}

interface World {
  api: ApiClient;
  server: TestServer;
  conv: string;
  /** What the row's `prepare` made for this cell (a fresh user or message). */
  target: string;
  /** The seq of the removed member's MemberRemoved: nothing after it may reach them. */
  leftSeq: number;
  /** A message sent by `member`, before the removal. */
  memberMsgSeq: number;
  users: Record<Role, Caller>;
  ownerDevice: string;
  /** A fresh user (not in the conversation) for add/remove/role rows. */
  freshUser(): Promise<{ userId: string; token: string }>;
  freshMember(): Promise<{ userId: string; token: string }>;
}

/** One operation: how a caller performs it, and which roles may. Anonymous and expired callers get 401. */
interface Row {
  op: string;
  allow: Role[];
  /** The status denied users get (403 unless stated). */
  denied?: number;
  /** Where a role is denied with another status than the default. */
  statusFor?: Partial<Record<Role, number>>;
  /** Sets up what the cell acts on, before the store's head is taken. */
  prepare?(w: World): Promise<string>;
  run(w: World, c: Caller): Promise<Reply | 'refused-upgrade'>;
  /** Extra checks on an allowed answer: what the caller may see. */
  check?(w: World, c: Caller, res: Reply): Promise<void> | void;
}

const rest = (method: string, path: (w: World, c: Caller) => string | Promise<string>, body?: (w: World, c: Caller) => unknown | Promise<unknown>) =>
  async (w: World, c: Caller): Promise<Reply> =>
    w.api.request(method, await path(w, c), { token: c.token, body: body ? await body(w, c) : undefined });

/** One frame on a fresh socket, answered by the frame echoing `ref`. */
const frame = (make: (w: World, ref: string) => Record<string, unknown>) =>
  async (w: World, c: Caller): Promise<Reply | 'refused-upgrade'> => {
    let ws: WsClient;
    try {
      ws = await WsClient.connect(w.server.wsUrl, c.token ?? '');
    } catch (error) {
      assert.match(String(error), /401/);
      return 'refused-upgrade';
    }
    const ref = randomUUID();
    ws.send({ ref, ...make(w, ref) });
    const answer = await ws.next((f) => f.ref === ref);
    await ws.close();
    // A sync reports a conversation it may not replay in `skipped`, with the code a refusal carries.
    const refusal = answer.type === 'error' ? answer : answer.type === 'synced' ? answer.skipped[0] : undefined;
    const status = refusal ? (({ not_a_member: 403, forbidden: 403, not_found: 404 } as Record<string, number>)[refusal.code] ?? 400) : 200;
    return { status, body: refusal ?? answer, headers: new Headers() };
  };

const noSeqAfterLeft = (items: { seq: number; conversationId?: string }[], w: World) =>
  assert.ok(items.every((i) => (i.conversationId && i.conversationId !== w.conv) || i.seq <= w.leftSeq), 'a removed member saw past leftSeq');

const ROWS: Row[] = [
  { op: 'POST /v1/users', allow: ROLES.slice(), run: rest('POST', () => '/v1/users', () => ({ username: `n_${randomUUID().slice(0, 8)}`, password: 'long enough' })) },
  { op: 'POST /v1/sessions', allow: ROLES.slice(), run: rest('POST', () => '/v1/sessions', (w) => ({ username: w.users.member.username, password: 'correct horse' })) },
  {
    op: 'DELETE /v1/sessions/current',
    allow: USERS,
    async run(w, c) {
      // Logs out a fresh session of the caller, so the caller's matrix token stays good.
      const token = c.username
        ? (await w.api.request('POST', '/v1/sessions', { body: { username: c.username, password: 'correct horse' } })).body.token
        : c.token;
      const res = await w.api.request('DELETE', '/v1/sessions/current', { token });
      if (res.status === 204) assert.equal((await w.api.request('GET', '/v1/conversations', { token })).status, 401, 'logged-out token still works');
      return res;
    },
  },
  { op: 'GET /v1/users?username=', allow: USERS, run: rest('GET', (w) => `/v1/users?username=${w.users.owner.username}`) },
  { op: 'GET /v1/users/:id', allow: USERS, run: rest('GET', (w) => `/v1/users/${w.users.owner.userId}`) },
  { op: 'PATCH /v1/me', allow: USERS, run: rest('PATCH', () => '/v1/me', () => ({ displayName: 'renamed' })) },
  {
    op: 'POST /v1/conversations',
    allow: USERS,
    run: rest('POST', () => '/v1/conversations', (w) => ({ kind: 'group', title: 't', memberIds: [w.users.owner.userId] })),
  },
  {
    op: 'GET /v1/conversations',
    allow: USERS,
    run: rest('GET', () => '/v1/conversations'),
    check(w, c, res) {
      const mine = res.body.items.find((i: { conversationId: string }) => i.conversationId === w.conv);
      assert.equal(Boolean(mine), VISIBLE.includes(c.role), 'the conversation list shows exactly the conversations one is or was in');
      if (mine && c.role === 'removed') assert.ok(mine.lastSeq <= w.leftSeq, 'lastSeq past leftSeq');
    },
  },
  {
    op: 'GET /v1/conversations/:id',
    allow: VISIBLE,
    run: rest('GET', (w) => `/v1/conversations/${w.conv}`),
    check: (w, c, res) => void (c.role === 'removed' && assert.ok(res.body.lastSeq <= w.leftSeq)),
  },
  {
    op: 'GET /v1/conversations/:id/messages',
    allow: VISIBLE,
    run: rest('GET', (w) => `/v1/conversations/${w.conv}/messages?limit=200`),
    check: (w, c, res) => void (c.role === 'removed' && noSeqAfterLeft(res.body.items, w)),
  },
  {
    op: 'GET /v1/conversations/:id/events',
    allow: VISIBLE,
    run: rest('GET', (w) => `/v1/conversations/${w.conv}/events?limit=1000`),
    check: (w, c, res) => void (c.role === 'removed' && noSeqAfterLeft(res.body.items, w)),
  },
  {
    op: 'GET /v1/sync',
    allow: USERS,
    run: rest('GET', () => '/v1/sync?limit=1000'),
    check(w, c, res) {
      const here = res.body.items.filter((i: { conversationId: string }) => i.conversationId === w.conv);
      if (!VISIBLE.includes(c.role)) assert.equal(here.length, 0, "a stranger's inbox holds the conversation");
      if (c.role === 'removed') noSeqAfterLeft(here, w);
    },
  },
  { op: 'PATCH /v1/conversations/:id', allow: ['owner', 'admin'], run: rest('PATCH', (w) => `/v1/conversations/${w.conv}`, () => ({ title: 'renamed' })) },
  {
    op: 'POST /v1/conversations/:id/members',
    allow: ['owner', 'admin'],
    prepare: async (w) => (await w.freshUser()).userId,
    run: rest('POST', (w) => `/v1/conversations/${w.conv}/members`, (w) => ({ userId: w.target })),
  },
  {
    op: 'DELETE /v1/conversations/:id/members/:userId',
    allow: ['owner', 'admin'],
    prepare: async (w) => (await w.freshMember()).userId,
    run: rest('DELETE', (w) => `/v1/conversations/${w.conv}/members/${w.target}`),
  },
  {
    op: 'PUT /v1/conversations/:id/members/:userId/role (member to admin)',
    allow: ['owner', 'admin'],
    prepare: async (w) => (await w.freshMember()).userId,
    run: rest('PUT', (w) => `/v1/conversations/${w.conv}/members/${w.target}/role`, () => ({ role: 'admin' })),
  },
  { op: 'PUT /v1/conversations/:id/settings', allow: VISIBLE, run: rest('PUT', (w) => `/v1/conversations/${w.conv}/settings`, () => ({ muted: true })) },
  {
    op: 'POST /v1/conversations/:id/messages',
    allow: MEMBERS,
    run: rest('POST', (w) => `/v1/conversations/${w.conv}/messages`, () => ({ clientMsgId: randomUUID(), text: 'hi' })),
  },
  {
    op: "PATCH /v1/conversations/:id/messages/:seq (member's message)",
    allow: ['member'],
    run: rest('PATCH', (w) => `/v1/conversations/${w.conv}/messages/${w.memberMsgSeq}`, () => ({ text: 'edited' })),
  },
  {
    op: "DELETE /v1/conversations/:id/messages/:seq (member's message)",
    allow: MEMBERS,
    prepare: async (w) => String((await w.api.send(w.users.member as { token: string }, w.conv, 'to recall')).body.seq),
    run: rest('DELETE', (w) => `/v1/conversations/${w.conv}/messages/${w.target}`),
  },
  { op: 'POST /v1/conversations/:id/read', allow: MEMBERS, run: rest('POST', (w) => `/v1/conversations/${w.conv}/read`, () => ({ upToSeq: 1 })) },
  { op: 'POST /v1/conversations/:id/delivered', allow: MEMBERS, run: rest('POST', (w) => `/v1/conversations/${w.conv}/delivered`, () => ({ upToSeq: 1 })) },
  { op: 'POST /v1/devices', allow: USERS, run: rest('POST', () => '/v1/devices', () => ({ token: `dev-${randomUUID()}`, platform: 'web' })) },
  {
    op: "DELETE /v1/devices/:token (owner's device)",
    // Everyone else looks in their own list, where the token is not: 404, and the owner's stays.
    allow: ['owner'],
    denied: 404,
    run: rest('DELETE', (w) => `/v1/devices/${w.ownerDevice}`),
    async check(w) {
      const events = await w.server.store.readStream(`user-${w.users.owner.userId}`);
      assert.ok(events.some((e) => e.type === 'DeviceRemoved' && (e.data as { token: string }).token === w.ownerDevice));
    },
  },
  // User tokens, expired or not, are not the admin token.
  { op: 'GET /v1/admin/analytics', allow: [], statusFor: { expired: 403 }, run: rest('GET', () => '/v1/admin/analytics') },
  {
    op: 'ws send',
    allow: MEMBERS,
    run: frame((w) => ({ type: 'send', conversationId: w.conv, clientMsgId: randomUUID(), text: 'hi' })),
  },
  { op: 'ws read', allow: MEMBERS, run: frame((w) => ({ type: 'read', conversationId: w.conv, upToSeq: 1 })) },
  { op: 'ws delivered', allow: MEMBERS, run: frame((w) => ({ type: 'delivered', conversationId: w.conv, upToSeq: 1 })) },
  { op: 'ws sync (conversations)', allow: VISIBLE, run: frame((w) => ({ type: 'sync', conversations: { [w.conv]: 0 } })) },
  { op: 'ws sync (afterUserSeq)', allow: USERS, run: frame(() => ({ type: 'sync', afterUserSeq: 0 })) },
  { op: 'ws ping', allow: USERS, run: frame(() => ({ type: 'ping' })) },
];

describe('authorization matrix: role x operation', () => {
  let w: World;
  before(async () => {
    const server = await startTestServer({
      AUTH_SECRET: SECRET,
      ADMIN_TOKEN,
      SEND_RATE_PER_USER: '100000',
      SEND_RATE_PER_IP: '100000',
      LOGIN_RATE_PER_USER: '100000',
      LOGIN_RATE_PER_IP: '100000',
    });
    const api = new ApiClient(server.url);
    const [owner, admin, member, removed, nonMember] = await Promise.all(USERS.map((r) => api.user(r.slice(0, 8))));
    const conv = await api.group(owner!, [admin!, member!, removed!]);
    await api.request('PUT', `/v1/conversations/${conv}/members/${admin!.userId}/role`, { token: owner!.token, body: { role: 'admin' } });
    const memberMsg = await api.send(member!, conv, 'before the removal');
    const left = await api.request('DELETE', `/v1/conversations/${conv}/members/${removed!.userId}`, { token: owner!.token });
    await api.send(owner!, conv, 'after the removal');
    const ownerDevice = `dev-${randomUUID()}`;
    await api.request('POST', '/v1/devices', { token: owner!.token, body: { token: ownerDevice, platform: 'android' } });
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ did: 'd' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(member!.userId)
      .setJti(randomUUID())
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(new TextEncoder().encode(SECRET));
    const freshUser = () => api.user('fresh');
    w = {
      api,
      server,
      conv,
      leftSeq: left.body.leftSeq,
      memberMsgSeq: memberMsg.body.seq,
      ownerDevice,
      target: '',
      users: {
        owner: { role: 'owner', ...owner! },
        admin: { role: 'admin', ...admin! },
        member: { role: 'member', ...member! },
        removed: { role: 'removed', ...removed! },
        nonMember: { role: 'nonMember', ...nonMember! },
        anonymous: { role: 'anonymous' },
        expired: { role: 'expired', token: expired, userId: member!.userId },
      },
      freshUser,
      async freshMember() {
        const u = await freshUser();
        await api.request('POST', `/v1/conversations/${conv}/members`, { token: owner!.token, body: { userId: u.userId } });
        return u;
      },
    };
  });
  after(async () => w.server.stop());

  it(`asserts every cell: ${ROWS.length} operations x ${ROLES.length} roles = ${ROWS.length * ROLES.length} cells`, async () => {
    const failures: string[] = [];
    for (const row of ROWS) {
      for (const role of ROLES) {
        const caller = w.users[role];
        const allowed = row.allow.includes(role);
        w.target = (await row.prepare?.(w)) ?? '';
        const head = await w.server.store.headPosition();
        try {
          const res = await row.run(w, caller);
          if (allowed) {
            assert.notEqual(res, 'refused-upgrade');
            const reply = res as Reply;
            assert.ok(reply.status >= 200 && reply.status < 300, `expected allowed, got ${reply.status} ${JSON.stringify(reply.body)}`);
            await row.check?.(w, caller, reply);
          } else {
            const unauthenticated = role === 'anonymous' || role === 'expired';
            if (res === 'refused-upgrade') assert.ok(unauthenticated, 'upgrade refused for a valid token');
            else {
              assert.equal(res.status, row.statusFor?.[role] ?? (unauthenticated ? 401 : (row.denied ?? 403)), JSON.stringify(res.body));
              assert.equal(typeof (res.body.error?.code ?? res.body.code), 'string');
              if (role === 'expired' && res.status === 401) assert.match(res.body.error.message, /expired/);
            }
            assert.equal(await w.server.store.headPosition(), head, 'a denied call appended events');
          }
        } catch (error) {
          failures.push(`${row.op} as ${role} (${allowed ? 'allowed' : 'denied'}): ${(error as Error).message}`);
        }
      }
    }
    console.log(`authorization matrix: ${ROWS.length} operations x ${ROLES.length} roles = ${ROWS.length * ROLES.length} cells`);
    assert.deepEqual(failures, []);
  });

  it('a removed member receives no live events after leaving, while members do', async () => {
    const { api, users, conv } = w;
    const removedWs = await WsClient.connect(w.server.wsUrl, users.removed.token!);
    const strangerWs = await WsClient.connect(w.server.wsUrl, users.nonMember.token!);
    const memberWs = await WsClient.connect(w.server.wsUrl, users.member.token!);
    const sent = await api.send(users.owner as { token: string }, conv, 'members only');
    await memberWs.next((f) => f.type === 'event' && f.seq === sent.body.seq);
    // The member's copy arrived; the same dispatch would have reached the others by now.
    for (const ws of [removedWs, strangerWs]) {
      const ping = randomUUID();
      ws.send({ type: 'ping', ref: ping });
      await ws.next((f) => f.ref === ping);
      assert.deepEqual(ws.events(conv), []);
    }
    await Promise.all([removedWs.close(), strangerWs.close(), memberWs.close()]);
  });
});
