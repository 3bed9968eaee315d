import { InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '../config.js';
import type { Stores } from '../stores.js';
import { projectionNames, type ProjectionName } from '../projections/projectors.js';

/** A failure to report as one line on stderr, with this exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface CliContext extends Stores {
  config: Config;
  server: typeof import('../server.js');
  /** Users' keys: `store` opens personal data with them, as the server does. */
  personal: ReturnType<typeof import('../privacy/index.js').personalData>;
}

/**
 * Opens the configured stores (the same environment as the server) without creating any, runs
 * the command and closes them again, whatever happens. The server's and the stores' modules load
 * only here, so `--help` and refused arguments answer at once.
 */
export async function withStores<T>(run: (ctx: CliContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const [server, { openStores, StoresMissing }, { personalData }] = await Promise.all([
    import('../server.js'),
    import('../stores.js'),
    import('../privacy/index.js'),
  ]);
  let stores: Stores;
  try {
    stores = await openStores(config, { create: false });
  } catch (error) {
    if (error instanceof StoresMissing) throw new CliError(error.message);
    throw error;
  }
  try {
    const personal = personalData(config, stores);
    return await run({ ...stores, store: personal.store, config, server, personal });
  } finally {
    await stores.store.close();
    await stores.readStore.close();
    stores.close();
  }
}

/** commander argument parser: a whole number of at least `min`. */
export const wholeNumber =
  (min: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    }
    return n;
  };

/** commander argument parser: a projection name. */
export function projectionName(value: string): ProjectionName {
  if (!(projectionNames as string[]).includes(value)) {
    throw new InvalidArgumentError(`unknown projection; one of: ${projectionNames.join(', ')}`);
  }
  return value as ProjectionName;
}

/** commander argument parser: a projection name or `all`. */
export function projectionsOrAll(value: string): ProjectionName[] {
  return value === 'all' ? [...projectionNames] : [projectionName(value)];
}

/** The head position, refusing a requested position past it: nothing has happened there yet. */
export function requireAtMostHead(what: string, position: number, head: number): void {
  if (position > head) throw new CliError(`${what} ${position} is past the head of the event store (position ${head})`);
}

/** Table style without colours: operators pipe this output into files and tickets. */
export const plain = { head: [], border: [] };
