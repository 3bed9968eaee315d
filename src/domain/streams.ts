import { createHash, randomUUID } from 'node:crypto';

/** Stream naming: the only place that knows how ids map to event store streams. */
export const CONVERSATION_PREFIX = 'conversation-';
export const USER_PREFIX = 'user-';
export const USERNAME_PREFIX = 'username-';
export const PRODUCT_STREAM_PREFIXES = [CONVERSATION_PREFIX, USER_PREFIX, USERNAME_PREFIX] as const;

export const conversationStream = (conversationId: string) => CONVERSATION_PREFIX + conversationId;
export const userStream = (userId: string) => USER_PREFIX + userId;
/**
 * A username's reservation stream, named by the username's keyed hash (usernameHasher, which
 * lower-cases it: usernames are unique case-insensitively).
 */
export const usernameStream = (usernameHash: string) => USERNAME_PREFIX + usernameHash;

export type StreamKind = 'conversation' | 'user' | 'username';
export function parseStreamId(streamId: string): { kind: StreamKind; id: string } | null {
  if (streamId.startsWith(CONVERSATION_PREFIX)) return { kind: 'conversation', id: streamId.slice(CONVERSATION_PREFIX.length) };
  if (streamId.startsWith(USER_PREFIX)) return { kind: 'user', id: streamId.slice(USER_PREFIX.length) };
  if (streamId.startsWith(USERNAME_PREFIX)) return { kind: 'username', id: streamId.slice(USERNAME_PREFIX.length) };
  return null;
}

export const newId = () => randomUUID();

/**
 * A direct conversation between two users has one id whoever creates it: the id is derived from
 * the sorted pair, and the create appends with expected revision "no stream".
 */
export function directConversationId(a: string, b: string): string {
  const [x, y] = [a, b].sort();
  return 'd' + createHash('sha256').update(`${x}\u0000${y}`).digest('hex').slice(0, 31);
}
