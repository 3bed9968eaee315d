import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer, type ServerOverrides } from '../../src/server.js';
import { tempDir } from './tmp.js';

export interface TestServer extends RunningServer {
  url: string;
  wsUrl: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface TestServerOptions extends ServerOverrides {
  /** Reuse a data directory (a restart); it is then left in place on stop. */
  dataDir?: string;
  logger?: Logger;
}

/** The real server on an ephemeral port with a fresh DATA_DIR. */
export async function startTestServer(env: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const tmp = options.dataDir ? null : tempDir();
  const dataDir = options.dataDir ?? tmp!.dir;
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env });
  const server = await startServer(config, options.logger ?? pino({ level: 'silent' }), options);
  return {
    ...server,
    url: `http://127.0.0.1:${server.port}`,
    wsUrl: `ws://127.0.0.1:${server.port}/v1/ws`,
    dataDir,
    async stop() {
      await server.close();
      tmp?.remove();
    },
  };
}
