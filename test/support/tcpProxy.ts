import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * How a cut link fails for new connections: `refuse` resets them at once (a peer that is down),
 * `blackhole` accepts them and never answers (a network that drops packets), so a caller learns
 * of the cut only through its own timeout.
 */
export type CutMode = 'refuse' | 'blackhole';

export interface TcpProxy {
  /** Where the link's callers connect instead of the target. */
  readonly port: number;
  readonly url: string;
  /** Drops every open connection and fails new ones as `mode` says, until heal(). */
  cut(mode?: CutMode): void;
  heal(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy in front of 127.0.0.1:targetPort, one per direction of a link a test can cut. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let cutMode: CutMode | null = null;
  const track = (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };
  const dropAll = () => {
    for (const socket of open) socket.destroy();
  };

  const server: Server = createServer((client) => {
    if (cutMode === 'refuse') return void client.resetAndDestroy();
    track(client);
    client.on('error', () => client.destroy());
    if (cutMode === 'blackhole') return;
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    track(upstream);
    // Either side failing ends both, as a broken TCP path would.
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    cut(mode = 'refuse') {
      cutMode = mode;
      dropAll();
    },
    heal() {
      cutMode = null;
      // Black-holed callers would wait forever for a connection that can never carry data.
      dropAll();
    },
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
