export { InstanceBus, type SignalListener } from './bus.js';
export { PRESENCE_EXPIRY_MS, RedisPresence } from './presence.js';
