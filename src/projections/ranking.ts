import type { ConversationListItem, ListCursor } from './model.js';

/*
 * The conversation list's order, followed by every read store and encoded in the list's cursor:
 * pinned first, then the latest activity, then the conversation id, each descending. The id makes
 * the order total, so a cursor names exactly one place in it.
 */

/** A place in the order; the list's cursor is one. */
export type Rank = ListCursor;

/** The rank's fields, most significant first; every one sorts descending. */
export const rankFields = ['pinned', 'lastActivityAt', 'conversationId'] as const satisfies readonly (keyof Rank)[];

/** A former member's list keeps the conversation where it was when they left. */
export const rankOf = ({ conversation, membership }: ConversationListItem): Rank => ({
  pinned: membership.pinned,
  lastActivityAt: (membership.frozen ?? conversation).lastActivityAt,
  conversationId: conversation.conversationId,
});

/** Negative when `a` is listed before `b`, positive when after, 0 for the same place. */
export function compareRanks(a: Rank, b: Rank): number {
  for (const field of rankFields) {
    if (a[field] !== b[field]) return a[field] > b[field] ? -1 : 1;
  }
  return 0;
}
