import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { FloodGuard } from './flood.js';
import { Session } from './session.js';

interface Connected {
  session: Session;
  /** Writes the connection under the server's socket handed to the kernel. */
  writes(): number;
  /** The frames the client has received so far. */
  received: string[];
  client: WebSocket;
}

describe('session: sending', () => {
  let server: Server;
  let wss: WebSocketServer;
  const sockets: WebSocket[] = [];

  before(async () => {
    server = createServer();
    wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  after(async () => {
    for (const s of sockets) s.terminate();
    wss.close();
    server.close();
  });

  /** A real connection: a Session on the server's end, counting the writes its connection makes. */
  async function connect(): Promise<Connected> {
    const upgraded = new Promise<{ ws: WebSocket; wire: Duplex }>((resolve) =>
      server.once('upgrade', (req, wire: Duplex, head) => wss.handleUpgrade(req, wire, head, (ws) => resolve({ ws, wire }))),
    );
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: false });
    sockets.push(client);
    const received: string[] = [];
    client.on('message', (data) => received.push(data.toString()));
    await once(client, 'open');
    const { ws, wire } = await upgraded;
    sockets.push(ws);
    let writes = 0;
    // Counts what the connection hands to the kernel: a single write or a gathered one each time.
    const stream = wire as Duplex & { _write: Duplex['_write']; _writev?: Duplex['_writev'] };
    const write = stream._write.bind(stream);
    const writev = stream._writev!.bind(stream);
    stream._write = (chunk, encoding, callback) => (writes++, write(chunk, encoding, callback));
    stream._writev = (chunks, callback) => (writes++, writev(chunks, callback));
    const session = new Session(ws, wire, { userId: 'u1', deviceId: 'd1' }, '127.0.0.1', new FloodGuard({ rate: 100, burst: 100, closeAfter: 10 }));
    return { session, writes: () => writes, received, client };
  }

  const until = async (condition: () => boolean) => {
    while (!condition()) await new Promise((r) => setImmediate(r));
  };

  it('sends the frames of one turn in one write, in order, and a later turn in a write of its own', async () => {
    const { session, writes, received } = await connect();
    session.sendJson({ type: 'ack', ref: '1' });
    session.deliver('c1', 1, Buffer.from('{"type":"event","seq":1}'));
    session.sendJson({ type: 'ack', ref: '2' });
    await until(() => received.length === 3);
    assert.deepEqual(received, ['{"type":"ack","ref":"1"}', '{"type":"event","seq":1}', '{"type":"ack","ref":"2"}']);
    assert.equal(writes(), 1, 'three frames sent together, one write');

    await Promise.resolve();
    session.sendJson({ type: 'ack', ref: '3' });
    await until(() => received.length === 4);
    assert.equal(received[3], '{"type":"ack","ref":"3"}');
    assert.equal(writes(), 2);
  });

  it('gathers the frames sent from the promise continuations resolved together', async () => {
    const { session, writes, received } = await connect();
    const commit = Promise.resolve();
    for (const ref of ['1', '2', '3', '4']) void commit.then(() => session.sendJson({ type: 'ack', ref }));
    await until(() => received.length === 4);
    assert.deepEqual(received.map((f) => JSON.parse(f).ref), ['1', '2', '3', '4']);
    assert.equal(writes(), 1);
  });
});
