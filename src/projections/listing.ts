import type { PersonalView } from '../domain/conversation.js';
import type { ConversationListItem, UserConversationDoc } from './model.js';

/*
 * Which conversations a user's list shows. Every read store filters by it (SQLite in SQL, MongoDB
 * here), so a page holds as many listed conversations as it can.
 */

/** What the user deleted for themselves, as their membership document keeps it. */
export const membershipView = (m: UserConversationDoc): PersonalView => ({
  clearedUpToSeq: m.clearedUpToSeq ?? -1,
  clearedMessageCount: m.clearedMessageCount ?? 0,
  hiddenSeqs: m.hiddenSeqs ?? [],
  removedUpToSeq: m.removedUpToSeq ?? -1,
});

/**
 * Listed unless deleted for everyone, or deleted by this user with no message since: a direct
 * conversation comes back with its next message, a group they left (frozen) never does.
 */
export function isListed({ conversation, membership }: ConversationListItem): boolean {
  if (conversation.deleted) return false;
  if (membership.removedUpToSeq === undefined) return true;
  const lastMessage = membership.frozen ? membership.frozen.lastMessage : conversation.lastMessage;
  return (lastMessage?.seq ?? -1) > membership.removedUpToSeq;
}
