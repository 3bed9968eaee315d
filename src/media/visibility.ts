import { isRecalled, visibleUpTo, type ConversationState } from '../domain/conversation.js';
import type { ConversationEvent } from '../domain/events.js';
import type { StateCache } from '../eventstore/stateCache.js';
import type { MessageVisibility } from './library.js';

/**
 * Members see a conversation's messages, former members those up to their leaving; nobody sees a
 * recalled message's content again, its file included.
 */
export const conversationVisibility = (conversations: Pick<StateCache<ConversationState, ConversationEvent>, 'load'>): MessageVisibility => ({
  async canSee(userId, conversationId, seq) {
    const { state } = await conversations.load(conversationId);
    const upTo = visibleUpTo(state, userId);
    return upTo !== null && seq <= upTo && !isRecalled(state.recalledSeqs, seq);
  },
});
