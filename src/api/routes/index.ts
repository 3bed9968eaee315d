import type { RouteSpec } from '../route.js';
import { adminRoutes } from './admin.js';
import { conversationRoutes } from './conversations.js';
import type { ApiDeps } from './deps.js';
import { deviceRoutes } from './devices.js';
import { lifecycleRoutes } from './lifecycle.js';
import { mediaRoutes } from './media.js';
import { messageRoutes } from './messages.js';
import { sessionRoutes } from './sessions.js';
import { syncRoutes } from './sync.js';
import { userRoutes } from './users.js';

export type { ApiDeps, PresenceReader } from './deps.js';

/** Every route of the REST API, in the order the app mounts them and the OpenAPI document lists them. */
export function routes(deps: ApiDeps): RouteSpec[] {
  return [userRoutes, sessionRoutes, conversationRoutes, messageRoutes, mediaRoutes, syncRoutes, deviceRoutes, lifecycleRoutes, adminRoutes].flatMap((group) => group(deps));
}
