import type { Attachment, ConversationCommand } from '../domain/commands.js';
import { clientKey, messagesUpTo, unreadMessages, type ConversationState } from '../domain/conversation.js';
import { invalid, type DomainError } from '../domain/errors.js';
import type { ConversationEvent, Role } from '../domain/events.js';
import { conversationStream, directConversationId, newId } from '../domain/streams.js';
import type { EventStore } from '../eventstore/port.js';
import type { StateCache } from '../eventstore/stateCache.js';
import { CommandHandler, type CommandContext, type RemoteExecution } from './commandHandler.js';
import { conversationDecider } from './conversation.decider.js';
import type { UserCommands } from './userCommands.js';

export interface ConversationCommandOptions {
  dcId: string;
  maxGroupSize: number;
  /**
   * The datacenter a user registered in. A direct conversation's home is the lower user id's, so it
   * is the same whichever member opens it, in whichever DC. Alone, every home is `dcId`.
   */
  homeOfUser?: (userId: string) => Promise<string | null>;
  remote?: RemoteExecution;
}

export interface SendResult {
  messageId: string;
  seq: number;
  /** False when this was a retry of an earlier send with the same clientMsgId. */
  created: boolean;
  position: number;
}

/** Conversations: creating them, their members, and the messages and read/delivered markers in them. */
export class ConversationCommands {
  private readonly commands: CommandHandler<ConversationState, ConversationCommand, ConversationEvent>;

  constructor(
    store: EventStore,
    private readonly conversations: StateCache<ConversationState, ConversationEvent>,
    private readonly users: Pick<UserCommands, 'requireUser'>,
    private readonly options: ConversationCommandOptions,
  ) {
    this.commands = new CommandHandler(store, conversations, conversationDecider, conversationStream, options.dcId, options.remote);
  }

  async create(
    actorId: string,
    input: { kind: 'direct'; memberId: string } | { kind: 'group'; title: string; memberIds: string[] },
    ctx: CommandContext,
  ): Promise<{ conversationId: string; created: boolean; position: number }> {
    const memberIds = input.kind === 'direct' ? [input.memberId] : input.memberIds;
    if (input.kind === 'direct' && input.memberId === actorId) throw invalid('a direct conversation needs another user');
    for (const id of new Set(memberIds)) await this.users.requireUser(id);
    const conversationId = input.kind === 'direct' ? directConversationId(actorId, input.memberId) : newId();
    if (input.kind === 'direct' && (await this.conversations.load(conversationId)).state.exists) {
      return { conversationId, created: false, position: 0 };
    }
    try {
      const outcome = await this.commands.execute(
        conversationId,
        {
          type: 'createConversation',
          conversationId,
          kind: input.kind,
          title: input.kind === 'group' ? input.title : null,
          creatorId: actorId,
          memberIds,
          homeDc: input.kind === 'direct' ? await this.directHome(actorId, input.memberId) : this.options.dcId,
          maxGroupSize: this.options.maxGroupSize,
        },
        ctx,
      );
      return { conversationId, created: true, position: outcome.position };
    } catch (error) {
      // Two users opening the same direct conversation at once: the second one gets the first's.
      if (input.kind === 'direct' && (error as DomainError).code === 'conflict') {
        return { conversationId, created: false, position: 0 };
      }
      throw error;
    }
  }

  /** A command another datacenter forwarded, run as this one's own. */
  executeCommand(conversationId: string, command: ConversationCommand, ctx: CommandContext) {
    return this.commands.execute(conversationId, command, ctx);
  }

  private async directHome(a: string, b: string): Promise<string> {
    const [lower] = [a, b].sort();
    return (await this.options.homeOfUser?.(lower!)) ?? this.options.dcId;
  }

  async addMember(actorId: string, conversationId: string, userId: string, ctx: CommandContext) {
    await this.users.requireUser(userId);
    return this.commands.execute(conversationId, { type: 'addMember', actorId, userId, maxGroupSize: this.options.maxGroupSize }, ctx);
  }

  removeMember(actorId: string, conversationId: string, userId: string, ctx: CommandContext) {
    return this.commands.execute(conversationId, { type: 'removeMember', actorId, userId }, ctx);
  }

  changeRole(actorId: string, conversationId: string, userId: string, role: Role, ctx: CommandContext) {
    return this.commands.execute(conversationId, { type: 'changeRole', actorId, userId, role }, ctx);
  }

  update(
    actorId: string,
    conversationId: string,
    changes: { title?: string; avatar?: string | null; announcement?: string | null },
    ctx: CommandContext,
  ) {
    return this.commands.execute(conversationId, { type: 'updateConversation', actorId, ...changes }, ctx);
  }

  /**
   * Idempotent by (sender, clientMsgId): a retry within the idempotency window returns the original
   * messageId and seq. The decider alone decides it, from the conversation's folded stream, so a
   * retry is recognised however far behind the read models are. A media attachment must already
   * be checked as the sender's own upload: the command trusts it.
   */
  async send(
    senderId: string,
    conversationId: string,
    clientMsgId: string,
    text: string | null,
    ctx: CommandContext,
    attachment?: Attachment,
  ): Promise<SendResult> {
    const key = clientKey(senderId, clientMsgId);
    const outcome = await this.commands.execute(
      conversationId,
      { type: 'sendMessage', senderId, messageId: newId(), clientMsgId, text, ...(attachment ? { attachment } : {}) },
      ctx,
      (after, events) => {
        const sent = events[0];
        if (sent?.event.type === 'MessageSent') return { messageId: sent.event.data.messageId, seq: sent.seq, created: true };
        const { messageId, seq } = after.recentByClientKey.get(key)!;
        return { messageId, seq, created: false };
      },
    );
    return { ...outcome.reply, position: outcome.position };
  }

  editMessage(actorId: string, conversationId: string, seq: number, text: string, ctx: CommandContext) {
    return this.commands.execute(conversationId, { type: 'editMessage', actorId, seq, text, nowMs: Date.now() }, ctx);
  }

  recallMessage(actorId: string, conversationId: string, seq: number, ctx: CommandContext) {
    return this.commands.execute(conversationId, { type: 'recallMessage', actorId, seq, nowMs: Date.now() }, ctx);
  }

  /** The owner deletes a group for everyone. */
  deleteForEveryone(actorId: string, conversationId: string, ctx: CommandContext) {
    return this.commands.execute(conversationId, { type: 'deleteConversation', actorId }, ctx);
  }

  /** Moves the read (and so the delivered) marker forward; answers the resulting marker and unread count. */
  async markRead(userId: string, conversationId: string, upToSeq: number, ctx: CommandContext) {
    const outcome = await this.commands.execute(conversationId, { type: 'markRead', userId, upToSeq }, ctx, (state) => {
      const readSeq = state.members.get(userId)!.readSeq;
      const unreadCount = unreadMessages({
        messageCount: state.messageSeqs.length,
        readMessageCount: messagesUpTo(state, readSeq),
        readSeq,
        lastSeq: state.lastSeq,
        recalledSeqs: state.recalledSeqs,
      });
      return { readSeq, unreadCount };
    });
    return { ...outcome.reply, position: outcome.position };
  }

  async markDelivered(userId: string, conversationId: string, upToSeq: number, ctx: CommandContext) {
    const outcome = await this.commands.execute(conversationId, { type: 'markDelivered', userId, upToSeq }, ctx, (state) => ({
      deliveredSeq: state.members.get(userId)!.deliveredSeq,
    }));
    return { ...outcome.reply, position: outcome.position };
  }
}
