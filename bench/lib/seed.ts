import { join } from 'node:path';
import { TokenService } from '../../src/api/auth.js';
import { eventMetadata } from '../../src/commands/commandHandler.js';
import { hashPassword } from '../../src/commands/passwords.js';
import { ChatService } from '../../src/commands/service.js';
import { openSqlite, type SqliteDatabase } from '../../src/db/sqlite.js';
import type { UserEvent } from '../../src/domain/events.js';
import { conversationStream, newId, userStream, usernameStream } from '../../src/domain/streams.js';
import type { UserState } from '../../src/domain/user.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { StateCache } from '../../src/eventstore/stateCache.js';
import { newConversationCache, userFold } from '../../src/server.js';
import type { EventStore } from '../../src/eventstore/port.js';
import { accountKeys, personalData, type KeyStore } from '../../src/privacy/index.js';
import { SqliteKeyStore } from '../../src/privacy/sqliteKeyStore.js';
import { AUTH_SECRET, MASTER_KEY } from './proc.js';

export interface SeedUser {
  userId: string;
  username: string;
  token: string;
}

const ctx = { correlationId: 'bench-seed' };
const PASSWORD = 'bench password';

/**
 * Writes fixtures straight into a data directory's event store before the server starts, through
 * the same event store and command handlers the server uses. Users are appended as events with one
 * shared password hash (scrypt per user would dominate seeding); their tokens are signed with the
 * AUTH_SECRET the server is started with.
 */
export class Seeder {
  readonly db: SqliteDatabase;
  readonly store: EventStore;
  readonly service: ChatService;
  private readonly hashUsername: (username: string) => string;
  // The seeder only signs tokens; the server under test checks revocations.
  private readonly tokens = new TokenService(new TextEncoder().encode(AUTH_SECRET), 24 * 3600, { revoke: async () => {}, isRevoked: async () => false });
  private passwordHash: Promise<string> | null = null;

  /** `keys`: where the server will look for users' keys (the SQLite file unless it reads MongoDB). */
  constructor(dataDir: string, keys?: KeyStore) {
    this.db = openSqlite(join(dataDir, 'chat.db'));
    // Seeding is not measured, and a crash only loses a fixture: skip the per-commit fsync.
    this.db.pragma('synchronous = OFF');
    // Sealed with the master key the server is started with, as its own writes are.
    const personal = personalData({ DATA_DIR: dataDir, MASTER_KEY }, { store: new SqliteEventStore(this.db), keys: keys ?? new SqliteKeyStore(this.db) });
    this.store = personal.store;
    const account = accountKeys(personal.keys, personal.master, 30);
    this.hashUsername = account.hashUsername;
    this.service = new ChatService(
      this.store,
      newConversationCache(this.store),
      new StateCache<UserState, UserEvent>(this.store, userFold),
      { ...account, dcId: 'dc1', maxGroupSize: 100_000, usernameReservationTimeoutMs: 60_000 },
    );
  }

  async users(count: number, prefix: string, withTokens = true): Promise<SeedUser[]> {
    const passwordHash = await (this.passwordHash ??= hashPassword(PASSWORD));
    const users = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const userId = newId();
        const username = `${prefix}${i}_${userId.slice(0, 6)}`;
        await this.store.append(usernameStream(this.hashUsername(username)), [{ type: 'UsernameReserved', data: { username, userId }, metadata: eventMetadata('dc1', ctx) }], 'no_stream');
        await this.store.append(
          userStream(userId),
          [{ type: 'UserRegistered', data: { userId, username, displayName: username, passwordHash }, metadata: eventMetadata('dc1', ctx) }],
          'no_stream',
        );
        return { userId, username, token: '' };
      }),
    );
    if (withTokens) for (const u of users) u.token = await this.tokens.issue(u.userId);
    return users;
  }

  token(userId: string): Promise<string> {
    return this.tokens.issue(userId);
  }

  async direct(a: SeedUser, b: SeedUser): Promise<string> {
    return (await this.service.conversationCommands.create(a.userId, { kind: 'direct', memberId: b.userId }, ctx)).conversationId;
  }

  async group(owner: SeedUser, members: SeedUser[], title: string): Promise<string> {
    const memberIds = members.filter((m) => m.userId !== owner.userId).map((m) => m.userId);
    return (await this.service.conversationCommands.create(owner.userId, { kind: 'group', title, memberIds }, ctx)).conversationId;
  }

  send(sender: SeedUser, conversationId: string, text: string) {
    return this.service.send(sender.userId, conversationId, newId(), text, ctx);
  }

  /** Appends `count` MessageSent events to a conversation in one append (bulk fixtures). */
  async messages(conversationId: string, senders: string[], count: number, lastRevision: number): Promise<void> {
    const events = Array.from({ length: count }, (_, i) => {
      const messageId = newId();
      const senderId = senders[i % senders.length]!;
      return {
        type: 'MessageSent',
        data: { messageId, senderId, clientMsgId: messageId, kind: 'text', text: `bench message ${i} with a realistic length of text`, media: null },
        metadata: eventMetadata('dc1', ctx),
      };
    });
    await this.store.append(conversationStream(conversationId), events, lastRevision);
  }

  close(): void {
    this.db.close();
  }
}
