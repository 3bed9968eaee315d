import type { UserCommand } from '../domain/commands.js';
import { messagesUpTo } from '../domain/conversation.js';
import { DomainError, conflict, invalid, notFound } from '../domain/errors.js';
import type { UserEvent } from '../domain/events.js';
import { newId, usernameStream, userStream } from '../domain/streams.js';
import { viewOf, type ConversationSettings, type UserState } from '../domain/user.js';
import type { EventStore, RecordedEvent } from '../eventstore/port.js';
import type { StateCache } from '../eventstore/stateCache.js';
import { CommandHandler, eventMetadata, type CommandContext, type RemoteExecution } from './commandHandler.js';
import type { ConversationAccess } from './conversationAccess.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from './passwords.js';
import { userDecider } from './user.decider.js';

export interface UserCommandOptions {
  dcId: string;
  /** A username reservation whose user is still unregistered this long after it was made is abandoned. */
  usernameReservationTimeoutMs: number;
  /** Names a username's reservation stream without spelling the username out (usernameHasher). */
  hashUsername(username: string): string;
  /** How long an erased account keeps its username from others. */
  erasedUsernameGraceMs: number;
  /** Deletes a user's data key here (UserKeys.erase). */
  eraseKey(userId: string): Promise<void>;
  remote?: RemoteExecution;
}

/** Accounts: registration with unique usernames, login lookups, profiles, devices and conversation settings. */
export class UserCommands {
  private readonly commands: CommandHandler<UserState, UserCommand, UserEvent>;

  constructor(
    private readonly store: EventStore,
    private readonly users: StateCache<UserState, UserEvent>,
    private readonly access: ConversationAccess,
    private readonly options: UserCommandOptions,
  ) {
    this.commands = new CommandHandler(store, users, userDecider, userStream, options.dcId, options.remote);
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
    const outcome = await this.commands.execute(
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
    const stream = usernameStream(this.options.hashUsername(username));
    const reservations = await this.store.readStream(stream);
    const last = reservations[reservations.length - 1];
    const holder = await this.registeredHolder(reservations.length ? reservations : await this.legacyReservations(username));
    // Someone else's reservation may belong to a registration still running (see above).
    const pending = last && (last.data as { userId: string }).userId !== holder?.userId && !this.abandoned(last);
    if ((holder && !this.released(holder)) || pending) throw usernameTaken(username);
    const metadata = eventMetadata(this.options.dcId, ctx);
    try {
      await this.store.append(stream, [{ type: 'UsernameReserved', data: { username, userId }, metadata }], last ? last.revision : 'no_stream');
    } catch (error) {
      if ((error as DomainError).code === 'wrong_expected_revision') throw usernameTaken(username);
      throw error;
    }
    return Date.parse(metadata.at);
  }

  /**
   * Reservations made before usernames were hashed into stream names: those names stay spelled out
   * in the log (README, "Erasing an account"), and still hold their usernames.
   */
  private legacyReservations(username: string): Promise<RecordedEvent[]> {
    return this.store.readStream(usernameStream(username.toLowerCase()));
  }

  /** An erased account's username is free again once its grace period is over. */
  private released(holder: UserState): boolean {
    return holder.erased && Date.now() >= Date.parse(holder.usernameFreeAt!);
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

  /** The registered user holding this username, or null (also for an erased account). */
  async findByUsername(username: string): Promise<UserState | null> {
    const reservations = await this.store.readStream(usernameStream(this.options.hashUsername(username)));
    const holder = await this.registeredHolder(reservations.length ? reservations : await this.legacyReservations(username));
    return holder?.erased ? null : holder;
  }

  /**
   * Erases the account: its key here first, so from this moment nothing of its personal data can be
   * opened, then UserErased, which scrubs the read models and deletes the key in every other
   * datacenter as it reaches them. Repeating it (after a failure between the two) finishes the job.
   */
  async eraseSelf(userId: string, password: string, ctx: CommandContext) {
    const user = await this.requireUser(userId);
    if (!(await verifyPassword(password, user.passwordHash))) throw new DomainError('forbidden', 'the password does not match');
    return this.erase(userId, ctx);
  }

  async erase(userId: string, ctx: CommandContext) {
    const user = await this.requireUser(userId);
    if (user.erased) return { position: 0 };
    await this.options.eraseKey(userId);
    const usernameFreeAt = new Date(Date.now() + this.options.erasedUsernameGraceMs).toISOString();
    return this.commands.execute(userId, { type: 'eraseUser', usernameFreeAt }, ctx);
  }

  async requireUser(userId: string): Promise<UserState> {
    const { state } = await this.users.load(userId);
    if (!state.exists) throw notFound(`user ${userId}`);
    return state;
  }

  /** Answers the profile as it is after the change. */
  async updateProfile(userId: string, changes: { displayName?: string; avatar?: string | null }, ctx: CommandContext) {
    // Copied out at once: later commands of the same batch evolve this state in place.
    const outcome = await this.commands.execute(userId, { type: 'updateProfile', ...changes }, ctx, profileOf);
    return outcome.reply;
  }

  /** Only for a conversation the user can see; answers the settings as they are after the change. */
  async changeSettings(
    userId: string,
    conversationId: string,
    settings: Partial<ConversationSettings>,
    ctx: CommandContext,
  ): Promise<{ settings: ConversationSettings | undefined; position: number }> {
    await this.access.visibleConversation(userId, conversationId);
    const outcome = await this.commands.execute(
      userId,
      { type: 'changeConversationSettings', conversationId, ...settings },
      ctx,
      (state) => state.settings.get(conversationId),
    );
    return { settings: outcome.reply, position: outcome.position };
  }

  /** A command another datacenter forwarded, run as this one's own. */
  executeCommand(userId: string, command: UserCommand, ctx: CommandContext) {
    return this.commands.execute(userId, command, ctx);
  }

  registerDevice(userId: string, token: string, platform: 'android' | 'ios' | 'web', ctx: CommandContext) {
    return this.commands.execute(userId, { type: 'registerDevice', token, platform }, ctx);
  }

  removeDevice(userId: string, token: string, ctx: CommandContext) {
    return this.commands.execute(userId, { type: 'removeDevice', token }, ctx);
  }

  /** Delete for me: messages (seqs this user can see) leave their history only; answers what is hidden now. */
  async hideMessages(userId: string, conversationId: string, seqs: number[], ctx: CommandContext) {
    const { state, maxSeq } = await this.access.visibleConversation(userId, conversationId);
    const notAMessage = seqs.find((seq) => seq > maxSeq || messagesUpTo(state, seq) - messagesUpTo(state, seq - 1) !== 1);
    if (notAMessage !== undefined) throw invalid(`seq ${notAMessage} is not a message you can see`);
    return this.commands.execute(userId, { type: 'hideMessages', conversationId, seqs }, ctx, (user) => viewOf(user, conversationId));
  }

  /** Delete my history of a conversation up to a seq (by default all of it that I can see). */
  async clearConversation(userId: string, conversationId: string, upToSeq: number | undefined, ctx: CommandContext) {
    const { state, maxSeq } = await this.access.visibleConversation(userId, conversationId);
    if (upToSeq !== undefined && upToSeq > maxSeq) throw invalid(`upToSeq ${upToSeq} is past the last seq you can see (${maxSeq})`);
    const until = upToSeq ?? maxSeq;
    const command = { type: 'clearConversation', conversationId, upToSeq: until, messageCount: messagesUpTo(state, until), removeFromList: false } as const;
    return this.commands.execute(userId, command, ctx, (user) => viewOf(user, conversationId));
  }

  /**
   * Delete a conversation for me: its history, and its place on my list until the next message. A
   * group is deleted this way only once left: a member would keep getting its messages.
   */
  async deleteConversationForMe(userId: string, conversationId: string, ctx: CommandContext) {
    const { state, maxSeq } = await this.access.visibleConversation(userId, conversationId);
    if (state.kind === 'group' && state.members.has(userId)) throw conflict('leave the group before deleting it from your list');
    const command = { type: 'clearConversation', conversationId, upToSeq: maxSeq, messageCount: messagesUpTo(state, maxSeq), removeFromList: true } as const;
    return this.commands.execute(userId, command, ctx, (user) => viewOf(user, conversationId));
  }
}

export const profileOf = ({ userId, username, displayName, avatar, erased }: UserState) => ({
  userId,
  username,
  displayName,
  avatar,
  ...(erased ? { erased: true as const } : {}),
});

const usernameTaken = (username: string) => new DomainError('username_taken', `username ${username} is taken`);
