import { z } from 'zod';
import { conversationKind, location, media, messageKind, role } from '../domain/events.js';

/**
 * Response schemas: what every JSON answer carries, for the OpenAPI document and for the test
 * servers' check of every answer. Objects are strict, so a field added to a view without its
 * schema is caught; the ids name the document's components.
 */

const id = z.string().min(1);
const seq = z.number().int().nonnegative();
const count = z.number().int().nonnegative();
const timestamp = z.iso.datetime();

export const errorBody = z
  .strictObject({
    error: z.looseObject({
      code: z.string().meta({ description: 'stable, e.g. `validation_failed`, `not_a_member`, `rate_limited`, `wrong_dc`' }),
      message: z.string(),
      issues: z.unknown().optional().meta({ description: 'what failed validation (the zod issues)' }),
      retryAfterSeconds: z.number().optional().meta({ description: 'when to try again (429 and 503; also the Retry-After header)' }),
      homeDc: z.string().optional().meta({ description: '`wrong_dc`: the datacenter the account belongs to' }),
      url: z.string().nullable().optional().meta({ description: "`wrong_dc`: that datacenter's public URL, when configured" }),
    }),
  })
  .meta({ id: 'Error' });

export const registeredUser = z.strictObject({ userId: id, username: z.string(), displayName: z.string() }).meta({ id: 'RegisteredUser' });
/** What the `erased` flags of answers mean to a client (docs/PROTOCOL.md). */
const erasedFlag = (what: string) => z.literal(true).optional().meta({ description: `${what}; absent otherwise` });
const senderErased = erasedFlag("the sender's account was erased: the content is gone for good (show e.g. 'Message deleted')");

export const profile = z
  .strictObject({
    userId: id,
    username: z.string(),
    displayName: z.string(),
    avatar: z.string().nullable(),
    erased: erasedFlag("the account was erased: its names are empty (show e.g. 'Deleted account')"),
  })
  .meta({ id: 'Profile' });
export const presence = z.strictObject({ userId: id, online: z.boolean(), lastSeenAt: timestamp.nullable() }).meta({ id: 'Presence' });
export const session = z.strictObject({ token: z.string(), userId: id }).meta({ id: 'Session' });

export const conversation = z
  .strictObject({
    conversationId: id,
    kind: conversationKind,
    title: z.string().nullable(),
    avatar: z.string().nullable(),
    announcement: z.string().nullable(),
    createdBy: id,
    createdAt: timestamp,
    members: z.array(z.strictObject({ userId: id, role, joinedSeq: seq, deliveredSeq: seq, readSeq: seq })),
    lastSeq: seq.meta({ description: 'for a former member: the last seq they may see' }),
  })
  .meta({ id: 'Conversation' });

const messagePreview = z
  .strictObject({
    seq,
    messageId: id,
    senderId: id,
    kind: messageKind,
    text: z.string().nullable(),
    mime: z.string().optional().meta({ description: 'media messages: the file type' }),
    sentAt: timestamp,
    recalled: z.boolean(),
    erased: senderErased,
  })
  .meta({ id: 'MessagePreview' });

export const conversationList = z
  .strictObject({
    items: z.array(
      z
        .strictObject({
          conversationId: id,
          kind: conversationKind,
          title: z.string().nullable().meta({ description: "a direct conversation's: the other member's display name" }),
          peerErased: erasedFlag("a direct conversation's other member erased their account: the title is empty (show e.g. 'Deleted account')"),
          avatar: z.string().nullable(),
          lastSeq: seq,
          lastMessage: messagePreview.nullable(),
          lastActivityAt: timestamp,
          unreadCount: count,
          readSeq: seq,
          deliveredSeq: seq,
          role,
          muted: z.boolean(),
          pinned: z.boolean(),
          archived: z.boolean(),
          joinedSeq: seq,
          leftSeq: seq.nullable(),
        })
        .meta({ id: 'ConversationListItem' }),
    ),
    nextCursor: z.string().nullable().meta({ description: 'pass as `cursor` for the next page; null on the last one' }),
  })
  .meta({ id: 'ConversationList' });

export const memberLeft = z.strictObject({ conversationId: id, userId: id, leftSeq: seq });
export const conversationSettings = z
  .strictObject({ conversationId: id, muted: z.boolean(), pinned: z.boolean(), archived: z.boolean() })
  .meta({ id: 'ConversationSettings' });

export const sent = z.strictObject({ messageId: id, seq }).meta({ id: 'Sent' });
const mediaRef = z.strictObject(media.shape);
export const messageList = z
  .strictObject({
    items: z.array(
      z
        .strictObject({
          seq,
          messageId: id,
          senderId: id,
          clientMsgId: z.string(),
          kind: messageKind,
          text: z.string().nullable(),
          media: mediaRef.nullable(),
          location: z.strictObject(location.shape).optional(),
          sentAt: timestamp,
          editedAt: timestamp.nullable(),
          recalled: z.boolean(),
          erased: senderErased,
        })
        .meta({ id: 'Message' }),
    ),
  })
  .meta({ id: 'MessageList' });
export const messageChanged = z.strictObject({ seq, eventSeq: seq.meta({ description: 'seq of the edit or recall event' }) });
export const receipts = z
  .strictObject({ seq, messageId: id, senderId: id, recipients: count, deliveredTo: z.array(id), readBy: z.array(id) })
  .meta({ id: 'Receipts' });
export const readMarker = z.strictObject({ readSeq: seq, unreadCount: count });
export const deliveredMarker = z.strictObject({ deliveredSeq: seq });

const eventData = z.record(z.string(), z.unknown()).meta({ description: "the event's data (docs/PROTOCOL.md); a recalled message's content is null" });
export const timeline = z
  .strictObject({ items: z.array(z.strictObject({ seq, type: z.string(), data: eventData, at: timestamp }).meta({ id: 'TimelineEvent' })) })
  .meta({ id: 'Timeline' });
export const inbox = z
  .strictObject({
    items: z.array(
      z
        .strictObject({
          userSeq: seq,
          conversationId: id,
          seq: seq.meta({ description: "the conversation's seq; with stream 'user', the revision of my own stream" }),
          stream: z.literal('user').optional().meta({ description: 'what I deleted for myself in conversationId (docs/PROTOCOL.md)' }),
          type: z.string(),
          data: eventData,
          at: timestamp,
        })
        .meta({ id: 'InboxEvent' }),
    ),
    nextUserSeq: seq.meta({ description: 'pass as `afterUserSeq` next time' }),
    hasMore: z.boolean(),
  })
  .meta({ id: 'Inbox' });

export const device = z.strictObject({ token: z.string(), platform: z.enum(['android', 'ios', 'web']) });

export const upload = z
  .strictObject({
    ...media.shape,
    thumbnail: z
      .strictObject({ width: z.number().int().positive(), height: z.number().int().positive(), url: z.string() })
      .optional()
      .meta({ description: 'images: a WebP of at most 320 pixels a side' }),
  })
  .meta({ id: 'Upload' });

export const analytics = z
  .strictObject({
    since: timestamp,
    messagesPerHour: z.array(z.strictObject({ conversationId: id, hour: z.string(), messages: count })),
    dailyActiveSenders: z.array(z.strictObject({ day: z.string(), senders: count })),
    busiestConversations: z.array(z.strictObject({ conversationId: id, messages: count })),
  })
  .meta({ id: 'Analytics' });
