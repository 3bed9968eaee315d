import { after, before } from 'node:test';
import type { ClientOptions } from 'ws';
import { ApiClient, WsClient } from './client.js';
import { startTestServer, type TestServer, type TestServerOptions } from './server.js';

export interface SuiteServer {
  server: TestServer;
  api: ApiClient;
  /** A WebSocket client, closed with the suite. */
  connect(token: string, options?: ClientOptions): Promise<WsClient>;
}

/**
 * One server for the enclosing describe block: started before its tests, stopped after them
 * together with the sockets they opened. Its fields are set once the suite starts.
 */
export function suiteServer(env: Record<string, string> = {}, options: () => TestServerOptions = () => ({})): SuiteServer {
  const sockets: WsClient[] = [];
  const suite = {
    async connect(token: string, clientOptions: ClientOptions = {}) {
      const ws = await WsClient.connect(suite.server.wsUrl, token, clientOptions);
      sockets.push(ws);
      return ws;
    },
  } as SuiteServer;
  before(async () => {
    suite.server = await startTestServer(env, options());
    suite.api = new ApiClient(suite.server.url);
  });
  after(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await suite.server.stop();
  });
  return suite;
}
