/**
 * `npm run multidc`: two datacenters on this machine (brokers, MirrorMaker 2, apps), running until
 * Ctrl-C. dc1 answers on http://127.0.0.1:$DC1_PORT (8081), dc2 on $DC2_PORT (8082). Progress goes
 * to stderr; stdout gets the one line `multidc ready` once both answer.
 */
import { z } from 'zod';
import { startMultiDc } from '../test/support/multidc.js';

const ports = z
  .object({
    DC1_PORT: z.coerce.number().int().min(1).max(65535).default(8081),
    DC2_PORT: z.coerce.number().int().min(1).max(65535).default(8082),
  })
  .parse(process.env);

const started = Date.now();
const stack = await startMultiDc({
  ports: { dc1: ports.DC1_PORT, dc2: ports.DC2_PORT },
  log: (line) => process.stderr.write(`[multidc ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`),
});
// The stack stops itself on Ctrl-C (or SIGTERM) and removes its work dir; until then its
// processes and link proxies keep this one running.
process.stderr.write(`[multidc] data and logs in ${stack.workDir}; Ctrl-C stops everything\n`);
process.stdout.write('multidc ready\n');
