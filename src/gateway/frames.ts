import { z } from 'zod';
import { clientMsgId, id, messageText, upToSeq } from '../api/schemas.js';

/**
 * Client-to-server frames, one schema each: the source of truth for docs/PROTOCOL.md.
 * `ref` is the client's own correlation id, echoed in the answering `ack` or `error`.
 */
const ref = z.string().min(1).max(128);
const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const clientFrame = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('send'), ref, conversationId: id, clientMsgId, text: messageText }),
  z.strictObject({ type: z.literal('read'), ref: ref.optional(), conversationId: id, upToSeq }),
  z.strictObject({ type: z.literal('delivered'), ref: ref.optional(), conversationId: id, upToSeq }),
  z.strictObject({
    type: z.literal('sync'),
    ref: ref.optional(),
    afterUserSeq: seq.optional(),
    /** Per-conversation positions: conversationId -> last seq the client has. */
    conversations: z.record(id, seq).optional(),
  }),
  z.strictObject({
    type: z.literal('typing'),
    ref: ref.optional(),
    conversationId: id,
    /** false: stopped typing (cleared a draft). Renew with true every few seconds while typing. */
    typing: z.boolean().default(true),
  }),
  z.strictObject({
    type: z.literal('ping'),
    ref: ref.optional(),
    /** true: the app is in the foreground, which counts as user activity for last-seen. */
    foreground: z.boolean().default(false),
  }),
]);
export type ClientFrame = z.infer<typeof clientFrame>;

/** Server-to-client frames that are not conversation events; built only through these schemas' types. */
export const typingFrame = z.strictObject({
  type: z.literal('typing'),
  conversationId: id,
  userId: id,
  typing: z.boolean(),
  /** With typing: true, how long to show the indicator unless it is renewed or stopped. */
  expiresInMs: z.number().int().positive().optional(),
});
export type TypingFrame = z.infer<typeof typingFrame>;

export const presenceFrame = z.strictObject({
  type: z.literal('presence'),
  userId: id,
  online: z.boolean(),
  lastSeenAt: z.iso.datetime().nullable(),
});
export type PresenceFrame = z.infer<typeof presenceFrame>;

/** The event frame: one serialisation per event, shared by every socket it goes to. */
export const eventFrame = (conversationId: string, seq: number, event: { type: string; data: unknown; at: string }, userSeq?: number) =>
  JSON.stringify({ type: 'event', conversationId, seq, ...(userSeq !== undefined ? { userSeq } : {}), event });
