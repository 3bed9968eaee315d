import type { ConversationCommand } from '../domain/commands.js';
import {
  EDIT_WINDOW_MS,
  clientKey,
  initialConversationState,
  evolveConversation,
  isAdmin,
  messagesUpTo,
  type ConversationState,
} from '../domain/conversation.js';
import { DomainError, conflict, forbidden, invalid, notAMember, notFound } from '../domain/errors.js';
import type { ConversationEvent } from '../domain/events.js';
import type { Decider } from './decider.js';

type Events = ConversationEvent[];

/** Pure: the events a command produces against the current state, or a typed refusal. */
export function decideConversation(state: ConversationState, command: ConversationCommand): Events {
  if (command.type === 'createConversation') return create(state, command);
  if (!state.exists || state.deleted) throw notFound('conversation');
  switch (command.type) {
    case 'addMember':
      return addMember(state, command);
    case 'removeMember':
      return removeMember(state, command);
    case 'changeRole':
      return changeRole(state, command);
    case 'updateConversation':
      return update(state, command);
    case 'sendMessage':
      return send(state, command);
    case 'editMessage':
    case 'recallMessage':
      return editOrRecall(state, command);
    case 'markDelivered':
    case 'markRead':
      return mark(state, command);
    case 'deleteConversation':
      return deleteForEveryone(state, command);
  }
}

function deleteForEveryone(state: ConversationState, c: Extract<ConversationCommand, { type: 'deleteConversation' }>): Events {
  const member = requireMember(state, c.actorId);
  if (state.kind === 'direct') throw forbidden('a direct conversation is deleted by each member for themselves');
  if (member.role !== 'owner') throw forbidden('only the owner deletes a group for everyone');
  return [{ type: 'ConversationDeleted', data: { deletedBy: c.actorId } }];
}

function create(state: ConversationState, c: Extract<ConversationCommand, { type: 'createConversation' }>): Events {
  if (state.exists) throw conflict('conversation already exists');
  const others = [...new Set(c.memberIds)].filter((id) => id !== c.creatorId);
  if (c.kind === 'direct' && others.length !== 1) {
    throw invalid('a direct conversation has exactly one other member');
  }
  if (others.length + 1 > c.maxGroupSize) {
    throw new DomainError('too_large', `a group has at most ${c.maxGroupSize} members`);
  }
  const creatorRole = c.kind === 'direct' ? 'member' : 'owner';
  return [
    {
      type: 'ConversationCreated',
      data: {
        conversationId: c.conversationId,
        kind: c.kind,
        title: c.kind === 'direct' ? null : c.title,
        createdBy: c.creatorId,
        members: [
          { userId: c.creatorId, role: creatorRole },
          ...others.map((userId) => ({ userId, role: 'member' as const })),
        ],
        homeDc: c.homeDc,
      },
    },
  ];
}

function requireMember(state: ConversationState, userId: string) {
  const member = state.members.get(userId);
  if (!member) throw notAMember();
  return member;
}

function requireGroupAdmin(state: ConversationState, actorId: string) {
  requireMember(state, actorId);
  if (state.kind === 'direct') throw forbidden('direct conversations cannot be managed');
  if (!isAdmin(state, actorId)) throw forbidden('only the owner or an admin can do this');
}

function addMember(state: ConversationState, c: Extract<ConversationCommand, { type: 'addMember' }>): Events {
  requireGroupAdmin(state, c.actorId);
  if (state.members.has(c.userId)) return [];
  if (state.members.size + 1 > c.maxGroupSize) {
    throw new DomainError('too_large', `a group has at most ${c.maxGroupSize} members`);
  }
  return [{ type: 'MemberAdded', data: { userId: c.userId, role: 'member', addedBy: c.actorId } }];
}

function removeMember(state: ConversationState, c: Extract<ConversationCommand, { type: 'removeMember' }>): Events {
  requireMember(state, c.actorId);
  const target = state.members.get(c.userId);
  if (!target) throw notFound('member');
  const leaving = c.actorId === c.userId;
  if (state.kind === 'direct') throw forbidden('nobody leaves a direct conversation');
  if (leaving && target.role === 'owner') throw conflict('the owner hands ownership to another member before leaving');
  if (!leaving) {
    requireGroupAdmin(state, c.actorId);
    const actorRole = state.members.get(c.actorId)!.role;
    if (target.role === 'owner' || (target.role === 'admin' && actorRole !== 'owner')) {
      throw forbidden('only the owner removes admins, and nobody removes the owner');
    }
  }
  return [{ type: 'MemberRemoved', data: { userId: c.userId, removedBy: c.actorId } }];
}

function changeRole(state: ConversationState, c: Extract<ConversationCommand, { type: 'changeRole' }>): Events {
  requireGroupAdmin(state, c.actorId);
  const target = state.members.get(c.userId);
  if (!target) throw notFound('member');
  const actorIsOwner = state.members.get(c.actorId)!.role === 'owner';
  if (!actorIsOwner && (target.role === 'owner' || c.role === 'owner')) {
    throw forbidden('only the owner hands over ownership, and nobody else changes the owner');
  }
  if (target.role === c.role) return [];
  if (c.userId === c.actorId && actorIsOwner) throw conflict('the owner hands ownership to another member instead');
  const events: Events = [{ type: 'MemberRoleChanged', data: { userId: c.userId, role: c.role, changedBy: c.actorId } }];
  if (c.role === 'owner') {
    events.push({ type: 'MemberRoleChanged', data: { userId: c.actorId, role: 'admin', changedBy: c.actorId } });
  }
  return events;
}

function update(state: ConversationState, c: Extract<ConversationCommand, { type: 'updateConversation' }>): Events {
  requireGroupAdmin(state, c.actorId);
  const changed = {
    ...(c.title !== undefined && c.title !== state.title ? { title: c.title } : {}),
    ...(c.avatar !== undefined && c.avatar !== state.avatar ? { avatar: c.avatar } : {}),
    ...(c.announcement !== undefined && c.announcement !== state.announcement ? { announcement: c.announcement } : {}),
  };
  if (Object.keys(changed).length === 0) return [];
  return [{ type: 'ConversationUpdated', data: { ...changed, updatedBy: c.actorId } }];
}

function send(state: ConversationState, c: Extract<ConversationCommand, { type: 'sendMessage' }>): Events {
  requireMember(state, c.senderId);
  if (state.recentByClientKey.has(clientKey(c.senderId, c.clientMsgId))) return [];
  const sent = { messageId: c.messageId, senderId: c.senderId, clientMsgId: c.clientMsgId };
  if (!c.attachment) {
    if (c.text === null) throw invalid('a message carries text, media or a location');
    return [{ type: 'MessageSent', data: { ...sent, kind: 'text', text: c.text, media: null } }];
  }
  if ('media' in c.attachment) return [{ type: 'MessageSent', data: { ...sent, kind: 'media', text: c.text, media: c.attachment.media } }];
  if (c.text !== null) throw invalid('a location carries no text');
  return [{ type: 'MessageSent', data: { ...sent, kind: 'location', text: null, media: null, location: c.attachment.location } }];
}

function editOrRecall(
  state: ConversationState,
  c: Extract<ConversationCommand, { type: 'editMessage' | 'recallMessage' }>,
): Events {
  requireMember(state, c.actorId);
  const message = state.recent.get(c.seq);
  if (!message || message.sentAtMs < c.nowMs - EDIT_WINDOW_MS) {
    const isMessage = messagesUpTo(state, c.seq) - messagesUpTo(state, c.seq - 1) === 1;
    if (!isMessage) throw notFound('message');
    throw conflict('messages can only be changed within 24 hours of sending');
  }
  if (message.recalled) throw conflict('the message was recalled');
  const mayRecall = message.senderId === c.actorId || (c.type === 'recallMessage' && isAdmin(state, c.actorId));
  if (!mayRecall) throw forbidden('only the sender changes a message');
  if (c.type === 'editMessage') {
    if (message.kind === 'location') throw invalid('a location carries no text to edit');
    return [{ type: 'MessageEdited', data: { messageId: message.messageId, seq: c.seq, editorId: c.actorId, text: c.text } }];
  }
  return [{ type: 'MessageRecalled', data: { messageId: message.messageId, seq: c.seq, recalledBy: c.actorId } }];
}

/** Markers only move forward; reading implies delivery, so a read past delivery moves both. */
function mark(state: ConversationState, c: Extract<ConversationCommand, { type: 'markDelivered' | 'markRead' }>): Events {
  const member = requireMember(state, c.userId);
  if (c.upToSeq > state.lastSeq) {
    throw invalid(`upToSeq ${c.upToSeq} is past the last seq ${state.lastSeq}`);
  }
  const events: Events = [];
  if (c.upToSeq > member.deliveredSeq) {
    events.push({ type: 'MessagesDelivered', data: { userId: c.userId, upToSeq: c.upToSeq } });
  }
  if (c.type === 'markRead' && c.upToSeq > member.readSeq) {
    events.push({ type: 'MessageRead', data: { userId: c.userId, upToSeq: c.upToSeq } });
  }
  return events;
}

export const conversationDecider: Decider<ConversationState, ConversationCommand, ConversationEvent> = {
  initialState: initialConversationState,
  decide: decideConversation,
  evolve: evolveConversation,
};
