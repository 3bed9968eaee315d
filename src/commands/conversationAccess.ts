import { visibleUpTo, type ConversationState } from '../domain/conversation.js';
import { notAMember, notFound } from '../domain/errors.js';
import type { ConversationEvent } from '../domain/events.js';
import type { StateCache } from '../eventstore/stateCache.js';

/**
 * Read-side access checks: who may see a conversation, and up to which seq. Commands need none of
 * these, since their deciders refuse non-members from the state they fold.
 */
export class ConversationAccess {
  constructor(private readonly conversations: StateCache<ConversationState, ConversationEvent>) {}

  /** The current state of a conversation this user is a member of now (former members are refused). */
  async currentMember(userId: string, conversationId: string): Promise<ConversationState> {
    const { state } = await this.conversations.load(conversationId);
    if (!state.exists || state.deleted) throw notFound('conversation');
    if (!state.members.has(userId)) throw notAMember();
    return state;
  }

  /**
   * The conversation as this user may see it: the state and the last seq visible to them
   * (their removal seq for a former member). Unknown conversations are 404, strangers 403.
   */
  async visibleConversation(userId: string, conversationId: string): Promise<{ state: ConversationState; maxSeq: number }> {
    const { state } = await this.conversations.load(conversationId);
    if (!state.exists || state.deleted) throw notFound('conversation');
    const maxSeq = visibleUpTo(state, userId);
    if (maxSeq === null) throw notAMember();
    if (maxSeq === state.lastSeq) return { state, maxSeq };
    return { state: await this.conversations.at(conversationId, maxSeq), maxSeq };
  }
}
