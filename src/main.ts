import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { startServer } from './server.js';

/** Composition root: configuration, adapters, servers, and a graceful stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = pino({ level: config.LOG_LEVEL });
  const server = await startServer(config, logger);
  logger.info(
    { port: server.port, dataDir: config.DATA_DIR, eventStore: config.EVENT_STORE, readStore: config.READ_STORE },
    `chat backend listening on http://localhost:${server.port} (REST under /v1, WebSocket at /v1/ws)`,
  );
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
