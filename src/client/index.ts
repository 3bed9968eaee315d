/** The typed client SDK: `chat-backend/client`. Standard fetch and WebSocket only, for browsers and Node. */
export { ApiError, ChatApi, type ApiOptions } from './api.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export {
  ChatConnection,
  type ConnectionEvents,
  type ConnectionOptions,
  type ConnectionStatus,
  type Position,
  type WebSocketConstructor,
  type WebSocketLike,
} from './connection.js';
export { newClientMsgId } from './ids.js';
export type * from './types.js';
