import { pino } from 'pino';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { standInOptions } from './fcmStandIn.js';

/**
 * `npm start` for a test that kills app instances: the real server in its own process, pushing to
 * the FCM stand-in of the test process (TEST_FCM_PORT, TEST_FCM_PROJECT), since firebase-admin's
 * endpoint cannot be configured through the environment.
 */
const fcm = z.object({ TEST_FCM_PORT: z.coerce.number().int().positive(), TEST_FCM_PROJECT: z.string().min(1) }).parse(process.env);
const config = loadConfig();
const server = await startServer(config, pino({ level: config.LOG_LEVEL }), { fcm: standInOptions(fcm.TEST_FCM_PORT, fcm.TEST_FCM_PROJECT) });
process.stdout.write(`listening on ${server.port}\n`);
