import type { ConversationCommand, UserCommand } from '../domain/commands.js';
import { clientKey, messagesUpTo, unreadMessages, visibleUpTo, type ConversationState } from '../domain/conversation.js';
import { DomainError, invalid, notAMember, notFound } from '../domain/errors.js';
import type { ConversationEvent, Role, UserEvent } from '../domain/events.js';
import { conversationStream, directConversationId, newId, usernameStream, userStream } from '../domain/streams.js';
import type { UserState } from '../domain/user.js';
import type { EventStore, RecordedEvent } from '../eventstore/port.js';
import type { StateCache } from '../eventstore/stateCache.js';
import type { ConversationQueries } from '../projections/ports.js';
import { CommandHandler, eventMetadata, type CommandContext } from './commandHandler.js';
import { conversationDecider } from './conversation.decider.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from './passwords.js';
import { userDecider } from './user.decider.js';

export interface ServiceOptions {
  dcId: string;
  maxGroupSize: number;
  /** A username reservation whose user is still unregistered this long after it was made is abandoned. */
  usernameReservationTimeoutMs: number;
}

export interface SendResult {
  messageId: string;
  seq: number;
  /** False when this was a retry of an earlier send with the same clientMsgId. */
  created: boolean;
  position: number;
}

/**
 * The write side as the API and gateway see it: every command goes through the generic handler,
 * with the checks that need more than one stream (users exist, usernames are unique).
 */
export class ChatService {
  readonly conversationCommands: CommandHandler<ConversationState, ConversationCommand, ConversationEvent>;
  readonly userCommands: CommandHandler<UserState, UserCommand, UserEvent>;

  constructor(
    private readonly store: EventStore,
    readonly conversations: StateCache<ConversationState, ConversationEvent>,
    readonly users: StateCache<UserState, UserEvent>,
    private readonly readStore: Pick<ConversationQueries, 'findMessageByClientMsgId'>,
    private readonly options: ServiceOptions,
  ) {
    this.conversationCommands = new CommandHandler(store, conversations, conversationDecider, conversationStream, options.dcId);
    this.userCommands = new CommandHandler(store, users, userDecider, userStream, options.dcId);
  }

  async register(input: { username: string; password: string; displayName?: string }, ctx: CommandContext) {
    const passwordHash = await hashPassword(input.password);
    const userId = newId();
    const reservedAtMs = await this.reserveUsername(input.username, userId, ctx);
    // Half the timeout on, the reservation could soon be reclaimed: this registration gives up rather
    // than race the one reclaiming it, which leaves the other half as the margin for its last append.
    if (Date.now() - reservedAtMs > this.options.usernameReservationTimeoutMs / 2) {
      throw new DomainError('unavailable', 'the registration took too long; try again later');
    }
    const displayName = input.displayName ?? input.username;
    const outcome = await this.userCommands.execute(
      userId,
      { type: 'registerUser', userId, username: input.username, displayName, passwordHash },
      ctx,
    );
    return { userId, username: input.username, displayName, position: outcome.position };
  }

  /**
   * Usernames are unique through a reservation stream: a registration appends its reservation at the
   * revision it read ("no stream" for a new name), so of concurrent ones exactly one wins, then
   * registers its user. A reservation whose user is not registered yet may belong to a registration
   * still running, so it is only reclaimed once older than the reservation timeout: by then that
   * registration has either registered its user or given up (see register), and it provably died.
   * Returns when the reservation was made.
   */
  private async reserveUsername(username: string, userId: string, ctx: CommandContext): Promise<number> {
    const stream = usernameStream(username);
    const reservations = await this.store.readStream(stream);
    const last = reservations[reservations.length - 1];
    if (last && ((await this.registeredHolder(reservations)) || !this.abandoned(last))) throw usernameTaken(username);
    const metadata = eventMetadata(this.options.dcId, ctx);
    try {
      await this.store.append(stream, [{ type: 'UsernameReserved', data: { username, userId }, metadata }], last ? last.revision : 'no_stream');
    } catch (error) {
      if ((error as DomainError).code === 'wrong_expected_revision') throw usernameTaken(username);
      throw error;
    }
    return Date.parse(metadata.at);
  }

  private abandoned(reservation: RecordedEvent): boolean {
    return Date.now() - Date.parse(reservation.metadata.at) > this.options.usernameReservationTimeoutMs;
  }

  /** The user of the latest reservation whose user registered: a reservation abandoned after it changes nothing. */
  private async registeredHolder(reservations: RecordedEvent[]): Promise<UserState | null> {
    for (const reservation of [...reservations].reverse()) {
      const { state } = await this.users.load((reservation.data as { userId: string }).userId);
      if (state.exists) return state;
    }
    return null;
  }

  /** The user for these credentials, or null. Unknown usernames cost one hash too. */
  async authenticate(username: string, password: string): Promise<UserState | null> {
    const user = await this.findByUsername(username);
    const valid = await verifyPassword(password, user ? user.passwordHash : DUMMY_HASH);
    return valid ? user : null;
  }

  /** The registered user holding this username, or null. */
  async findByUsername(username: string): Promise<UserState | null> {
    return this.registeredHolder(await this.store.readStream(usernameStream(username)));
  }

  async requireUser(userId: string): Promise<UserState> {
    const { state } = await this.users.load(userId);
    if (!state.exists) throw notFound(`user ${userId}`);
    return state;
  }

  async createConversation(
    actorId: string,
    input: { kind: 'direct'; memberId: string } | { kind: 'group'; title: string; memberIds: string[] },
    ctx: CommandContext,
  ): Promise<{ conversationId: string; created: boolean; position: number }> {
    const memberIds = input.kind === 'direct' ? [input.memberId] : input.memberIds;
    if (input.kind === 'direct' && input.memberId === actorId) throw invalid('a direct conversation needs another user');
    for (const id of new Set(memberIds)) await this.requireUser(id);
    const conversationId = input.kind === 'direct' ? directConversationId(actorId, input.memberId) : newId();
    if (input.kind === 'direct' && (await this.conversations.load(conversationId)).state.exists) {
      return { conversationId, created: false, position: 0 };
    }
    try {
      const outcome = await this.conversationCommands.execute(
        conversationId,
        {
          type: 'createConversation',
          conversationId,
          kind: input.kind,
          title: input.kind === 'group' ? input.title : null,
          creatorId: actorId,
          memberIds,
          homeDc: this.options.dcId,
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

  async addMember(actorId: string, conversationId: string, userId: string, ctx: CommandContext) {
    await this.requireUser(userId);
    return this.conversationCommands.execute(
      conversationId,
      { type: 'addMember', actorId, userId, maxGroupSize: this.options.maxGroupSize },
      ctx,
    );
  }

  removeMember(actorId: string, conversationId: string, userId: string, ctx: CommandContext) {
    return this.conversationCommands.execute(conversationId, { type: 'removeMember', actorId, userId }, ctx);
  }

  changeRole(actorId: string, conversationId: string, userId: string, role: Role, ctx: CommandContext) {
    return this.conversationCommands.execute(conversationId, { type: 'changeRole', actorId, userId, role }, ctx);
  }

  updateConversation(
    actorId: string,
    conversationId: string,
    changes: { title?: string; avatar?: string | null; announcement?: string | null },
    ctx: CommandContext,
  ) {
    return this.conversationCommands.execute(conversationId, { type: 'updateConversation', actorId, ...changes }, ctx);
  }

  /** Idempotent by (sender, clientMsgId): a retry returns the original messageId and seq. */
  async send(senderId: string, conversationId: string, clientMsgId: string, text: string, ctx: CommandContext): Promise<SendResult> {
    const key = clientKey(senderId, clientMsgId);
    const { state } = await this.conversations.load(conversationId);
    // Sends older than the in-memory window are found in the messages read model.
    if (state.exists && !state.recentByClientKey.has(key) && state.messageSeqs.length > state.recent.size) {
      const earlier = await this.readStore.findMessageByClientMsgId(conversationId, senderId, clientMsgId);
      if (earlier && state.members.has(senderId)) {
        return { messageId: earlier.messageId, seq: earlier.seq, created: false, position: 0 };
      }
    }
    const outcome = await this.conversationCommands.execute(
      conversationId,
      { type: 'sendMessage', senderId, messageId: newId(), clientMsgId, text },
      ctx,
      (after, events) => {
        const sent = events[0];
        if (sent?.event.type === 'MessageSent') return { messageId: sent.event.data.messageId, seq: sent.seq, created: true };
        const seq = after.recentByClientKey.get(key)!;
        return { messageId: after.recent.get(seq)!.messageId, seq, created: false };
      },
    );
    return { ...outcome.reply, position: outcome.position };
  }

  editMessage(actorId: string, conversationId: string, seq: number, text: string, ctx: CommandContext) {
    return this.conversationCommands.execute(conversationId, { type: 'editMessage', actorId, seq, text, nowMs: Date.now() }, ctx);
  }

  recallMessage(actorId: string, conversationId: string, seq: number, ctx: CommandContext) {
    return this.conversationCommands.execute(conversationId, { type: 'recallMessage', actorId, seq, nowMs: Date.now() }, ctx);
  }

  /** Moves the read (and so the delivered) marker forward; answers the resulting marker and unread count. */
  async markRead(userId: string, conversationId: string, upToSeq: number, ctx: CommandContext) {
    const outcome = await this.conversationCommands.execute(
      conversationId,
      { type: 'markRead', userId, upToSeq },
      ctx,
      (state) => {
        const readSeq = state.members.get(userId)!.readSeq;
        const unreadCount = unreadMessages({
          messageCount: state.messageSeqs.length,
          readMessageCount: messagesUpTo(state, readSeq),
          readSeq,
          lastSeq: state.lastSeq,
          recalledSeqs: state.recalledSeqs,
        });
        return { readSeq, unreadCount };
      },
    );
    return { ...outcome.reply, position: outcome.position };
  }

  async markDelivered(userId: string, conversationId: string, upToSeq: number, ctx: CommandContext) {
    const outcome = await this.conversationCommands.execute(
      conversationId,
      { type: 'markDelivered', userId, upToSeq },
      ctx,
      (state) => ({ deliveredSeq: state.members.get(userId)!.deliveredSeq }),
    );
    return { ...outcome.reply, position: outcome.position };
  }

  async changeSettings(
    userId: string,
    conversationId: string,
    settings: { muted?: boolean; pinned?: boolean; archived?: boolean },
    ctx: CommandContext,
  ) {
    await this.visibleConversation(userId, conversationId);
    return this.userCommands.execute(userId, { type: 'changeConversationSettings', conversationId, ...settings }, ctx);
  }

  registerDevice(userId: string, token: string, platform: 'android' | 'ios' | 'web', ctx: CommandContext) {
    return this.userCommands.execute(userId, { type: 'registerDevice', token, platform }, ctx);
  }

  removeDevice(userId: string, token: string, ctx: CommandContext) {
    return this.userCommands.execute(userId, { type: 'removeDevice', token }, ctx);
  }

  /** The current state of a conversation this user is a member of now (former members are refused). */
  async currentMember(userId: string, conversationId: string): Promise<ConversationState> {
    const { state } = await this.conversations.load(conversationId);
    if (!state.exists) throw notFound('conversation');
    if (!state.members.has(userId)) throw notAMember();
    return state;
  }

  /**
   * The conversation as this user may see it: the state and the last seq visible to them
   * (their removal seq for a former member). Unknown conversations are 404, strangers 403.
   */
  async visibleConversation(userId: string, conversationId: string): Promise<{ state: ConversationState; maxSeq: number }> {
    const { state } = await this.conversations.load(conversationId);
    if (!state.exists) throw notFound('conversation');
    const maxSeq = visibleUpTo(state, userId);
    if (maxSeq === null) throw notAMember();
    if (maxSeq === state.lastSeq) return { state, maxSeq };
    return { state: await this.conversations.at(conversationId, maxSeq), maxSeq };
  }
}

const usernameTaken = (username: string) => new DomainError('username_taken', `username ${username} is taken`);
