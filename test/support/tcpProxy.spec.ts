import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTcpProxy, type TcpProxy } from './tcpProxy.js';

/** An echo server that counts the connections reaching it. */
async function echoServer(): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, connections: () => connections };
}

async function connect(port: number): Promise<Socket> {
  const socket = createConnection({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

async function roundTrip(socket: Socket, text: string): Promise<string> {
  socket.write(text);
  const [data] = await once(socket, 'data');
  return String(data);
}

/** Resolves with the error a socket ended with (null for a clean close). */
function ending(socket: Socket): Promise<Error | null> {
  let failure: Error | null = null;
  socket.on('error', (err) => (failure = err));
  return new Promise((resolve) => socket.once('close', () => resolve(failure)));
}

describe('TCP proxy', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let proxy: TcpProxy;
  before(async () => {
    echo = await echoServer();
    proxy = await startTcpProxy(echo.port);
  });
  after(async () => {
    await proxy.close();
    echo.server.close();
  });

  it('carries bytes both ways to its target', async () => {
    const socket = await connect(proxy.port);
    assert.equal(await roundTrip(socket, 'hello'), 'hello');
    socket.destroy();
  });

  it('cut drops open connections and resets new ones; heal lets them through again', async () => {
    const open = await connect(proxy.port);
    assert.equal(await roundTrip(open, 'before'), 'before');
    const closed = ending(open);
    proxy.cut('refuse');
    await closed;

    const refused = createConnection({ host: '127.0.0.1', port: proxy.port });
    const failure = await ending(refused);
    assert.match(String(failure), /ECONNRESET/);

    proxy.heal();
    const healed = await connect(proxy.port);
    assert.equal(await roundTrip(healed, 'after'), 'after');
    healed.destroy();
  });

  it('a black hole accepts connections, forwards nothing, and drops them on heal', async () => {
    const reachedBefore = echo.connections();
    proxy.cut('blackhole');
    const held = await connect(proxy.port);
    held.write('into the void');
    const dropped = ending(held);
    proxy.heal();
    await dropped;

    // The connection made after heal reaches the target; it is the only one since the cut.
    const healed = await connect(proxy.port);
    assert.equal(await roundTrip(healed, 'back'), 'back');
    assert.equal(echo.connections(), reachedBefore + 1);
    healed.destroy();
  });
});
