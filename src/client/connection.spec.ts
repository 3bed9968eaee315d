import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ChatApi } from './api.js';
import { ChatConnection, type WebSocketLike } from './connection.js';

/** A socket whose network the spec plays: it records what the client writes. */
class ScriptedSocket implements WebSocketLike {
  static opened: ScriptedSocket[] = [];
  readyState = 0;
  readonly written: Record<string, unknown>[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {
    ScriptedSocket.opened.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  send(data: string) {
    this.written.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
}

const HEARTBEAT_MS = 1000;
const api = new ChatApi({ baseUrl: 'http://unused', token: 't' });
const connect = () => {
  const connection = new ChatConnection({ api, url: 'ws://chat/v1/ws', WebSocket: ScriptedSocket, heartbeatMs: HEARTBEAT_MS, backoff: { initialMs: 100, maxMs: 100 } });
  connection.open();
  return connection;
};

/** The network drops a socket; the client opens the next one after its backoff. */
function dropAndReopen(socket: ScriptedSocket): ScriptedSocket {
  socket.close();
  socket.onclose?.({});
  mock.timers.tick(100);
  const next = ScriptedSocket.opened.at(-1)!;
  next.open();
  return next;
}

describe('ChatConnection heartbeat, resends and markers', () => {
  beforeEach(() => {
    ScriptedSocket.opened = [];
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  });
  afterEach(() => mock.timers.reset());

  it('pings while the server answers, and replaces a socket silent for two intervals', () => {
    const connection = connect();
    const first = ScriptedSocket.opened[0]!;
    first.open();
    mock.timers.tick(HEARTBEAT_MS);
    assert.equal(first.written.at(-1)?.type, 'ping');
    first.receive({ type: 'pong' });
    mock.timers.tick(HEARTBEAT_MS * 2);
    assert.equal(connection.status, 'connecting', 'still the first socket: it answered');
    mock.timers.tick(HEARTBEAT_MS);
    assert.equal(connection.status, 'offline');
    assert.equal(ScriptedSocket.opened.length, 1);
    mock.timers.tick(100);
    assert.equal(ScriptedSocket.opened.length, 2, 'a new socket after the backoff');
    connection.close();
  });

  it('sends sync first on every socket, then the sends not acked, with their clientMsgId', async () => {
    const connection = connect();
    const first = ScriptedSocket.opened[0]!;
    first.open();
    const unacked = connection.send('c1', 'hello', 'm1');
    const acked = connection.send('c1', 'acked', 'm2');
    first.receive({ type: 'ack', ref: 'm2', conversationId: 'c1', messageId: 'x', seq: 3 });
    const second = dropAndReopen(first);
    assert.deepEqual(
      second.written.map((f) => [f.type, f.clientMsgId]),
      [
        ['sync', undefined],
        ['send', 'm1'],
      ],
    );
    connection.close();
    assert.deepEqual(await acked, { messageId: 'x', seq: 3 });
    await assert.rejects(unacked, /connection closed/);
  });

  it('never sends a marker that would not move, and sends one not acked again on the next socket', () => {
    const connection = connect();
    const first = ScriptedSocket.opened[0]!;
    first.open();
    connection.markRead('c1', 5);
    const read = first.written.at(-1)!;
    first.receive({ type: 'ack', ref: read.ref, conversationId: 'c1', readSeq: 5, unreadCount: 0 });
    connection.markRead('c1', 5);
    connection.markRead('c1', 4);
    connection.markDelivered('c1', 7);
    assert.deepEqual(
      first.written.filter((f) => f.type !== 'sync').map((f) => [f.type, f.upToSeq]),
      [
        ['read', 5],
        ['delivered', 7],
      ],
    );
    const second = dropAndReopen(first);
    assert.deepEqual(
      second.written.filter((f) => f.type !== 'sync').map((f) => [f.type, f.upToSeq]),
      [['delivered', 7]],
    );
    connection.close();
  });
});
