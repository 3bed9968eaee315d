import type { Attachment } from '../domain/commands.js';
import type { ConversationState } from '../domain/conversation.js';
import type { ConversationEvent, UserEvent } from '../domain/events.js';
import type { UserState } from '../domain/user.js';
import type { EventStore } from '../eventstore/port.js';
import type { StateCache } from '../eventstore/stateCache.js';
import type { ConversationCommand, UserCommand } from '../domain/commands.js';
import { invalid } from '../domain/errors.js';
import { parseStreamId } from '../domain/streams.js';
import type { AppendedEvent, CommandContext, RemoteExecution } from './commandHandler.js';
import { ConversationAccess } from './conversationAccess.js';
import { ConversationCommands } from './conversationCommands.js';
import { UserCommands, type UserCommandOptions } from './userCommands.js';

export interface ServiceOptions extends UserCommandOptions {
  maxGroupSize: number;
  /** The datacenter a user registered in (see ConversationCommandOptions). */
  homeOfUser?: (userId: string) => Promise<string | null>;
}

/**
 * The write side wired once over shared state caches: user commands, conversation commands and the
 * read-side access checks. The API calls the parts; the few calls below are what the WebSocket
 * gateway and the push worker make.
 */
export class ChatService {
  readonly access: ConversationAccess;
  readonly userCommands: UserCommands;
  readonly conversationCommands: ConversationCommands;

  constructor(
    store: EventStore,
    readonly conversations: StateCache<ConversationState, ConversationEvent>,
    readonly users: StateCache<UserState, UserEvent>,
    options: ServiceOptions,
  ) {
    this.access = new ConversationAccess(conversations);
    this.userCommands = new UserCommands(store, users, this.access, options);
    this.conversationCommands = new ConversationCommands(store, conversations, this.userCommands, options);
  }

  send(senderId: string, conversationId: string, clientMsgId: string, text: string | null, ctx: CommandContext, attachment?: Attachment) {
    return this.conversationCommands.send(senderId, conversationId, clientMsgId, text, ctx, attachment);
  }

  markRead(userId: string, conversationId: string, upToSeq: number, ctx: CommandContext) {
    return this.conversationCommands.markRead(userId, conversationId, upToSeq, ctx);
  }

  markDelivered(userId: string, conversationId: string, upToSeq: number, ctx: CommandContext) {
    return this.conversationCommands.markDelivered(userId, conversationId, upToSeq, ctx);
  }

  /** A command another datacenter forwarded for a stream homed here (see RemoteExecution). */
  executeHere(streamId: string, command: unknown, ctx: CommandContext): Promise<{ events: AppendedEvent<unknown>[] }> {
    const stream = parseStreamId(streamId);
    if (stream?.kind === 'conversation') return this.conversationCommands.executeCommand(stream.id, command as ConversationCommand, ctx);
    if (stream?.kind === 'user') return this.userCommands.executeCommand(stream.id, command as UserCommand, ctx);
    throw invalid(`no commands are forwarded for stream ${streamId}`);
  }

  removeDevice(userId: string, token: string, ctx: CommandContext) {
    return this.userCommands.removeDevice(userId, token, ctx);
  }

  currentMember(userId: string, conversationId: string) {
    return this.access.currentMember(userId, conversationId);
  }

  visibleConversation(userId: string, conversationId: string) {
    return this.access.visibleConversation(userId, conversationId);
  }
}
