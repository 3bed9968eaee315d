import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { tempDir } from './tmp.js';

export interface TestServer extends RunningServer {
  url: string;
  wsUrl: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** The real server on an ephemeral port with a fresh DATA_DIR. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const tmp = tempDir();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: tmp.dir, LOG_LEVEL: 'silent', ...env });
  const server = await startServer(config, pino({ level: 'silent' }));
  return {
    ...server,
    url: `http://127.0.0.1:${server.port}`,
    wsUrl: `ws://127.0.0.1:${server.port}/v1/ws`,
    dataDir: tmp.dir,
    async stop() {
      await server.close();
      tmp.remove();
    },
  };
}
