import type { ChatService } from '../commands/service.js';
import type { ContactQueries } from '../projections/ports.js';
import type { PresenceFrame, TypingFrame } from './frames.js';
import type { ConnectionHub } from './hub.js';
import type { PresenceView } from './presence.js';

/** Typing and presence go only to users online here: they are never stored, so nothing replays them. */
export interface EphemeralFanOutDeps {
  hub: ConnectionHub;
  service: Pick<ChatService, 'conversations'>;
  readStore: Pick<ContactQueries, 'listContacts'>;
  typingTtlMs: number;
  /** Groups with more members do not fan presence out (see listContacts). */
  inboxPullThreshold: number;
}

/** A typing change to the conversation's other members online here, from its current state. */
export async function forwardTyping(deps: EphemeralFanOutDeps, conversationId: string, userId: string, typing: boolean): Promise<void> {
  const { state } = await deps.service.conversations.load(conversationId);
  const frame: TypingFrame = typing
    ? { type: 'typing', conversationId, userId, typing, expiresInMs: deps.typingTtlMs }
    : { type: 'typing', conversationId, userId, typing };
  const online = deps.hub.users;
  // Whichever is smaller: the members, or the users online here.
  const candidates = state.members.size <= online.size ? state.members.keys() : online.keys();
  const audience = [...candidates].filter((u) => u !== userId && state.members.has(u));
  deps.hub.sendToUsers(audience, JSON.stringify(frame));
}

/** A user's presence to their contacts online here (large groups excluded, see listContacts). */
export async function announcePresence(deps: EphemeralFanOutDeps, userId: string, view: PresenceView): Promise<void> {
  const contacts = await deps.readStore.listContacts(userId, deps.inboxPullThreshold);
  const frame: PresenceFrame = { type: 'presence', userId, ...view };
  deps.hub.sendToUsers(contacts, JSON.stringify(frame));
}
