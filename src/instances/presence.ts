import type { Redis } from 'ioredis';
import type { SharedPresence } from '../gateway/presence.js';

/** An instance that stops refreshing (killed, cut off) has its users' sockets forgotten after this. */
export const PRESENCE_EXPIRY_MS = 15_000;
/** A live instance refreshes its users this often, well inside the expiry. */
export const PRESENCE_REFRESH_MS = 5_000;

/**
 * Each user's key is a sorted set of the instances holding a socket of theirs, scored by when that
 * entry expires (Redis's clock, so instances' clocks need not agree). Every script first drops the
 * expired entries. Scripts run atomically, which is what makes "the DC-wide state changed" a fact
 * exactly one instance learns: of two instances taking a user's first sockets at once, one finds
 * the other already there.
 */
const PURGE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
`;

/** Adds this instance; answers how many other instances held a socket before. */
const ARRIVE = `${PURGE}
local others = redis.call('ZCARD', KEYS[1]) - (redis.call('ZSCORE', KEYS[1], ARGV[1]) and 1 or 0)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return others`;

/** Removes this instance; answers how many instances still hold a socket. */
const LEAVE = `${PURGE}
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('ZCARD', KEYS[1])`;

const COUNT = `${PURGE}
return redis.call('ZCARD', KEYS[1])`;

/** Pushes the expiry of this instance's entry forward in every key given. */
const REFRESH = `
local t = redis.call('TIME')
local until_ = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, until_, ARGV[1])
  redis.call('PEXPIRE', key, ARGV[2])
end
return #KEYS`;

/** Keys per refresh script call: one call holds Redis for a bounded time. */
const REFRESH_CHUNK = 500;

type PresenceCommands = Redis & {
  presenceArrive(key: string, instance: string, expiryMs: number): Promise<number>;
  presenceLeave(key: string, instance: string): Promise<number>;
  presenceCount(key: string): Promise<number>;
  presenceRefresh(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number>;
};

/** Who is online in the datacenter, shared by its instances through Redis (see SharedPresence). */
export class RedisPresence implements SharedPresence {
  readonly refreshIntervalMs: number;
  private readonly redis: PresenceCommands;

  constructor(
    redis: Redis,
    private readonly instance: string,
    private readonly expiryMs = PRESENCE_EXPIRY_MS,
  ) {
    this.refreshIntervalMs = Math.min(PRESENCE_REFRESH_MS, Math.floor(expiryMs / 3));
    redis.defineCommand('presenceArrive', { numberOfKeys: 1, lua: ARRIVE });
    redis.defineCommand('presenceLeave', { numberOfKeys: 1, lua: LEAVE });
    redis.defineCommand('presenceCount', { numberOfKeys: 1, lua: COUNT });
    redis.defineCommand('presenceRefresh', { lua: REFRESH });
    this.redis = redis as PresenceCommands;
  }

  async arrived(userId: string): Promise<boolean> {
    return (await this.redis.presenceArrive(keyOf(userId), this.instance, this.expiryMs)) === 0;
  }

  async left(userId: string): Promise<boolean> {
    return (await this.redis.presenceLeave(keyOf(userId), this.instance)) === 0;
  }

  async isOnline(userId: string): Promise<boolean> {
    return (await this.redis.presenceCount(keyOf(userId))) > 0;
  }

  async refresh(userIds: readonly string[]): Promise<void> {
    for (let i = 0; i < userIds.length; i += REFRESH_CHUNK) {
      const keys = userIds.slice(i, i + REFRESH_CHUNK).map(keyOf);
      await this.redis.presenceRefresh(keys.length, ...keys, this.instance, this.expiryMs);
    }
  }
}

const keyOf = (userId: string) => `presence:${userId}`;
