import type { ConversationEvent, UserEvent } from './events.js';

/** The users a conversation event names, as its actor or its subject: whom it is personal data of. */
export function usersNamedBy(event: ConversationEvent): string[] {
  switch (event.type) {
    case 'ConversationCreated':
      return [event.data.createdBy, ...event.data.members.map((m) => m.userId)];
    case 'MemberAdded':
      return [event.data.userId, event.data.addedBy];
    case 'MemberRemoved':
      return [event.data.userId, event.data.removedBy];
    case 'MemberRoleChanged':
      return [event.data.userId, event.data.changedBy];
    case 'ConversationUpdated':
      return [event.data.updatedBy];
    case 'MessageSent':
      return [event.data.senderId];
    case 'MessageEdited':
      return [event.data.editorId];
    case 'MessageRecalled':
      return [event.data.recalledBy];
    case 'ConversationDeleted':
      return [event.data.deletedBy];
    case 'MessagesDelivered':
    case 'MessageRead':
      return [event.data.userId];
  }
}

export const REDACTED = '[redacted]';

/**
 * A user event as an access request shows it: the password hash is stored, and the export says
 * so, but the hash itself is a credential and is not handed out.
 */
export function redactUserEvent(event: UserEvent): UserEvent {
  return event.type === 'UserRegistered' ? { ...event, data: { ...event.data, passwordHash: REDACTED } } : event;
}
