import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import { ChatApi, ChatConnection, type ChatEvent, type Position } from '../../src/client/index.js';
import { freePort, killHard, startProcess } from '../support/process.js';
import { profileEnv } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { eventually } from '../support/waits.js';

/** Fast retries: the server is back in well under a second on a quiet machine. */
const backoff = { initialMs: 20, maxMs: 500 };

/** A user of the SDK that records every event it is shown. */
class App {
  readonly events: ChatEvent[] = [];
  readonly connection: ChatConnection;

  constructor(
    readonly api: ChatApi,
    readonly userId: string,
    port: number,
    position?: Position,
    socket: typeof WebSocket = WebSocket,
  ) {
    this.connection = new ChatConnection({ api, url: `ws://127.0.0.1:${port}/v1/ws`, WebSocket: socket, position, backoff });
    this.connection.on('event', (e) => this.events.push(e));
    this.connection.open();
  }

  texts(conversationId: string): string[] {
    return this.events.flatMap((e) => (e.conversationId === conversationId && e.type === 'MessageSent' ? [e.data.text ?? ''] : []));
  }

  seqs(conversationId: string): number[] {
    return this.events.filter((e) => e.conversationId === conversationId).map((e) => e.seq);
  }

  online(): Promise<unknown> {
    return eventually(`${this.userId} online`, async () => this.connection.status, (s) => s === 'online');
  }
}

async function signUp(baseUrl: string, name: string): Promise<{ api: ChatApi; userId: string }> {
  const api = new ChatApi({ baseUrl });
  const username = `${name}_${randomUUID().slice(0, 8)}`;
  await api.register({ username, password: 'correct horse' });
  const { userId } = await api.login({ username, password: 'correct horse' });
  return { api, userId };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('client SDK across server crashes', () => {
  const tmp = tempDir();
  const lossyDir = tempDir();
  let child: ChildProcess | null = null;
  const apps: App[] = [];
  after(() => {
    for (const app of apps) app.connection.close();
    child?.kill('SIGKILL');
    tmp.remove();
    lossyDir.remove();
  });

  it('shows every message exactly once and in order when the server is killed mid-stream', async () => {
    const port = await freePort();
    const profile = profileEnv();
    child = await startProcess(tmp.dir, port, profile);
    const baseUrl = `http://127.0.0.1:${port}`;
    const alice = await signUp(baseUrl, 'alice');
    const bob = await signUp(baseUrl, 'bob');
    const conversation = await alice.api.createConversation({ kind: 'direct', memberId: bob.userId });
    const c = conversation.conversationId;

    const sender = new App(alice.api, alice.userId, port, { conversations: { [c]: conversation.lastSeq } });
    const phone = new App(bob.api, bob.userId, port, { conversations: { [c]: conversation.lastSeq } });
    // A second device of Bob's that knows no conversation yet: the inbox brings it everything.
    const laptop = new App(bob.api, bob.userId, port, { afterUserSeq: 0 });
    apps.push(sender, phone, laptop);
    await Promise.all(apps.map((app) => app.online()));

    const texts = range(1, 40).map((i) => `message ${i}`);
    const sends = texts.map((text) => sender.connection.send(c, text));
    await eventually('Bob to see some of the messages', async () => phone.texts(c).length, (n) => n >= 5);
    await killHard(child);
    child = await startProcess(tmp.dir, port, profile);

    const acks = await Promise.all(sends);
    await eventually('both of Bob’s devices to see every message', async () => [phone.texts(c).length, laptop.texts(c).length], (n) => n.every((x) => x >= 40));
    // A fence: one more message after everything; what came before it has all arrived.
    const fence = await sender.connection.send(c, 'fence');
    await eventually('the fence', async () => [phone, laptop].every((app) => app.texts(c).includes('fence')), Boolean);

    for (const app of [phone, laptop]) {
      assert.deepEqual(app.texts(c), [...texts, 'fence'], 'each message once, in the order it was sent');
    }
    assert.deepEqual(phone.seqs(c), range(conversation.lastSeq + 1, fence.seq), 'gap-free from where the phone started');
    assert.deepEqual(laptop.seqs(c), range(0, fence.seq), 'the whole conversation from its creation');
    // Retried sends kept their clientMsgId: every ack names the seq the message is stored at.
    const sentAt = new Map(phone.events.flatMap((e) => (e.type === 'MessageSent' ? [[e.data.text, e.seq]] : [])));
    assert.deepEqual(
      acks.map((a) => a.seq),
      texts.map((t) => sentAt.get(t)),
    );
    const { items } = await bob.api.events(c, { limit: 1000 });
    assert.equal(items.filter((e) => e.type === 'MessageSent').length, 41, 'nothing stored twice');
  });

  it('fills a seq gap from the timeline when a live frame is lost', async () => {
    const port = await freePort();
    await killHard(child!);
    child = await startProcess(lossyDir.dir, port, profileEnv());
    const baseUrl = `http://127.0.0.1:${port}`;
    const alice = await signUp(baseUrl, 'alice');
    const bob = await signUp(baseUrl, 'bob');
    const conversation = await alice.api.createConversation({ kind: 'direct', memberId: bob.userId });
    const c = conversation.conversationId;
    const lost = 'lost on the way';

    /** A network that loses one frame and delivers the rest. */
    const LossySocket = function (url: string) {
      const socket = new WebSocket(url);
      Object.defineProperty(socket, 'onmessage', {
        set: (handler: (event: WebSocket.MessageEvent) => void) =>
          socket.addEventListener('message', (event) => {
            if (!String(event.data).includes(lost)) handler(event);
          }),
      });
      return socket;
    } as unknown as typeof WebSocket;

    const receiver = new App(bob.api, bob.userId, port, { conversations: { [c]: conversation.lastSeq } }, LossySocket);
    apps.push(receiver);
    await receiver.online();
    for (const text of ['before', lost, 'after']) await alice.api.send(c, randomUUID(), text);
    await eventually('the lost message to be fetched', async () => receiver.texts(c), (t) => t.length === 3);
    assert.deepEqual(receiver.texts(c), ['before', lost, 'after']);
    assert.deepEqual(receiver.seqs(c), range(conversation.lastSeq + 1, conversation.lastSeq + 3));
  });
});
