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
  z.strictObject({ type: z.literal('ping'), ref: ref.optional() }),
]);
export type ClientFrame = z.infer<typeof clientFrame>;

/** The event frame: one serialisation per event, shared by every socket it goes to. */
export const eventFrame = (conversationId: string, seq: number, event: { type: string; data: unknown; at: string }, userSeq?: number) =>
  JSON.stringify({ type: 'event', conversationId, seq, ...(userSeq !== undefined ? { userSeq } : {}), event });
