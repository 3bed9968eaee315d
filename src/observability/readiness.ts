import type { EventStore } from '../eventstore/port.js';
import { checkpointLags, describeLagEvents, type CheckpointLag } from '../projections/lag.js';
import type { ProjectionSink } from '../projections/ports.js';

export type Readiness = { ready: true } | { ready: false; reason: string };

/** Ready while every projection is within the lag bound; other consumers do not hold up serving. */
export function judgeLags(lags: CheckpointLag[], maxLagSeconds: number): Readiness {
  const behind = lags.filter((l) => l.kind === 'projection' && l.lagSeconds > maxLagSeconds);
  if (behind.length === 0) return { ready: true };
  const which = behind.map((l) => `${l.name} (${l.lagSeconds.toFixed(1)} s, ${describeLagEvents(l)} events)`).join(', ');
  return { ready: false, reason: `projections lag more than ${maxLagSeconds} s behind the head: ${which}` };
}

/**
 * Redis away does not stop serving (limits and revocation checks degrade, see RateLimits and
 * RedisRevocationStore), but /readyz says so, as it says when the stores are away.
 */
export function judgeRedis(status: string): Readiness {
  return status === 'ready' ? { ready: true } : { ready: false, reason: `Redis unreachable (${status}): rate limits are per instance and token revocations are not checked` };
}

/** /readyz: Redis (when configured) and the stores answer, and the projections are within the lag bound. */
export function readinessCheck(
  store: EventStore,
  readStore: Pick<ProjectionSink, 'checkpoints'>,
  maxLagSeconds: number,
  redis?: { readonly status: string },
): () => Promise<Readiness> {
  return async () => {
    const redisReadiness = redis ? judgeRedis(redis.status) : { ready: true as const };
    if (!redisReadiness.ready) return redisReadiness;
    let lags: CheckpointLag[];
    try {
      lags = (await checkpointLags(store, await readStore.checkpoints())).lags;
    } catch (error) {
      return { ready: false, reason: `stores unreachable: ${error instanceof Error ? error.message : String(error)}` };
    }
    return judgeLags(lags, maxLagSeconds);
  };
}
