import { z } from 'zod';
import { MAX_TEXT_LENGTH, MAX_TITLE_LENGTH, location, role } from '../domain/events.js';
import { mediaHash } from '../media/keys.js';

/** Request schemas: every body, query and path parameter from outside is parsed by one of these. */

export const id = z.string().min(1).max(128);
const seq = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);
export const clientMsgId = z.string().min(1).max(128);
export const messageText = z.string().min(1).max(MAX_TEXT_LENGTH);
export const upToSeq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const registerBody = z.strictObject({
  username: z.string().min(3).max(32).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, dot, dash and underscore only'),
  password: z.string().min(8).max(256),
  displayName: z.string().trim().min(1).max(64).optional(),
});

export const sessionBody = z.strictObject({
  username: z.string().min(1).max(32),
  password: z.string().min(1).max(256),
  deviceId: z.string().min(1).max(128).optional(),
});

export const createConversationBody = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('direct'), memberId: id }),
  z.strictObject({
    kind: z.literal('group'),
    title: z.string().trim().min(1).max(MAX_TITLE_LENGTH),
    memberIds: z.array(id).max(10_000).default([]),
  }),
]);

export const updateConversationBody = z.strictObject({
  title: z.string().trim().min(1).max(MAX_TITLE_LENGTH).optional(),
  avatar: z.string().max(1024).nullable().optional(),
  announcement: z.string().max(MAX_TEXT_LENGTH).nullable().optional(),
});

export const conversationParams = z.object({ id });
export const memberParams = z.object({ id, userId: id });
export const messageParams = z.object({ id, seq });
export const addMemberBody = z.strictObject({ userId: id });
export const roleBody = z.strictObject({ role });

export const settingsBody = z
  .strictObject({ muted: z.boolean().optional(), pinned: z.boolean().optional(), archived: z.boolean().optional() })
  .refine((s) => Object.keys(s).length > 0, 'set at least one of muted, pinned, archived');

/**
 * What a send carries, over REST and WebSocket alike: text; or media the sender uploaded, by hash,
 * with an optional caption (and file name to show); or a location.
 */
export const messageContent = {
  text: messageText.optional(),
  media: z.strictObject({ hash: mediaHash, name: z.string().trim().min(1).max(256).optional() }).optional(),
  location: z.strictObject(location.shape).optional(),
};
type MessageContent = { text?: string; media?: object; location?: object };

/** One of text, media or location; text goes with media as its caption, never with a location. */
export function checkContent(content: MessageContent, ctx: z.RefinementCtx): void {
  const carried = [content.media && 'media', content.location && 'location'].filter(Boolean);
  if (carried.length > 1) ctx.addIssue({ code: 'custom', message: 'a message carries media or a location, not both' });
  if (carried.length === 0 && content.text === undefined) ctx.addIssue({ code: 'custom', message: 'a message carries text, media or a location' });
  if (content.location && content.text !== undefined) ctx.addIssue({ code: 'custom', path: ['text'], message: 'a location carries no text' });
}

export const sendBody = z.strictObject({ clientMsgId, ...messageContent }).superRefine(checkContent);
export const editBody = z.strictObject({ text: messageText });
export const mediaParams = z.object({ hash: mediaHash });
/** The file's name as the sender's device knew it, shown to recipients; the type comes from the bytes. */
export const uploadQuery = z.strictObject({ name: z.string().trim().min(1).max(256).optional() });
export const markerBody = z.strictObject({ upToSeq });

export const listConversationsQuery = z.strictObject({
  limit: limit(200, 50),
  cursor: z.string().max(1024).optional(),
  archived: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});

export const messagesQuery = z.strictObject({
  afterSeq: seq.optional(),
  beforeSeq: seq.optional(),
  limit: limit(200, 50),
});

export const eventsQuery = z.strictObject({ afterSeq: seq.optional(), limit: limit(1000, 100) });
export const syncQuery = z.strictObject({ afterUserSeq: seq.default(0), limit: limit(1000, 100) });
export const userLookupQuery = z.strictObject({ username: z.string().min(1).max(32) });
export const userParams = z.object({ id });

export const deviceBody = z.strictObject({
  token: z.string().min(1).max(4096),
  platform: z.enum(['android', 'ios', 'web']),
});
export const deviceParams = z.object({ token: z.string().min(1).max(4096) });
export const profileBody = z.strictObject({
  displayName: z.string().trim().min(1).max(64).optional(),
  avatar: z.string().max(1024).nullable().optional(),
});

export const analyticsQuery = z.strictObject({
  since: z.iso.datetime().optional(),
  limit: limit(1000, 50),
});
