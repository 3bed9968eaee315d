import type { ProjectionSink } from '../projections/ports.js';
import type { FencingToken } from './port.js';

/** The sink as a lease holder writes to it: every batch carries the holder's fencing token. */
export const fencedSink = (sink: ProjectionSink, token: FencingToken): ProjectionSink => ({
  apply: (batch) => sink.apply(batch, token),
  checkpoints: () => sink.checkpoints(),
});
