import { convlist } from './convlist.js';
import { direct } from './direct.js';
import { distributed } from './distributed.js';
import { fanout } from './fanout.js';
import { flood } from './flood.js';
import { idle } from './idle.js';
import { media } from './media.js';
import { multidc } from './multidc.js';
import { rebuild } from './rebuild.js';
import type { Scenario } from './types.js';

export type { Options } from './types.js';

/** In the order a full run executes them. */
export const scenarios = { direct, fanout, idle, rebuild, distributed, convlist, flood, media, multidc } satisfies Record<string, Scenario>;
export type ScenarioName = keyof typeof scenarios;
