import type { EventStore } from '../eventstore/port.js';
import { checkpointLags, describeLagEvents, type CheckpointLag } from '../projections/lag.js';
import type { ProjectionSink } from '../projections/ports.js';

/** Ready, possibly with degraded parts named (still served, so a load balancer keeps the instance), or not. */
export type Readiness = { ready: true; degraded?: string[] } | { ready: false; reason: string };

/** Ready while every projection is within the lag bound; other consumers do not hold up serving. */
export function judgeLags(lags: CheckpointLag[], maxLagSeconds: number): Readiness {
  const behind = lags.filter((l) => l.kind === 'projection' && l.lagSeconds > maxLagSeconds);
  if (behind.length === 0) return { ready: true };
  const which = behind.map((l) => `${l.name} (${l.lagSeconds.toFixed(1)} s, ${describeLagEvents(l)} events)`).join(', ');
  return { ready: false, reason: `projections lag more than ${maxLagSeconds} s behind the head: ${which}` };
}

/**
 * Redis away does not stop serving (limits, revocation checks, presence and typing degrade, see
 * RateLimits, RedisRevocationStore, PresenceTracker and InstanceBus): /readyz names it as degraded
 * but stays ready, since every instance shares the one Redis and a load balancer that dropped them
 * all would stop the service it should keep.
 */
export function judgeRedis(status: string): string | null {
  return status === 'ready' ? null : `Redis unreachable (${status}): rate limits, presence and typing are per instance and token revocations are not checked`;
}

/** /readyz: Redis (when configured) and the stores answer, and the projections are within the lag bound. */
export function readinessCheck(
  store: EventStore,
  readStore: Pick<ProjectionSink, 'checkpoints'>,
  maxLagSeconds: number,
  redis?: { readonly status: string },
): () => Promise<Readiness> {
  return async () => {
    let lags: CheckpointLag[];
    try {
      lags = (await checkpointLags(store, await readStore.checkpoints())).lags;
    } catch (error) {
      return { ready: false, reason: `stores unreachable: ${error instanceof Error ? error.message : String(error)}` };
    }
    const readiness = judgeLags(lags, maxLagSeconds);
    const degraded = redis ? judgeRedis(redis.status) : null;
    return readiness.ready && degraded ? { ready: true, degraded: [degraded] } : readiness;
  };
}
