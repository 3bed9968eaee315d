import { z } from 'zod';
import { checkContent, clientMsgId, id, messageContent, upToSeq } from '../api/schemas.js';

/**
 * Zod schemas of the WebSocket frames that docs/PROTOCOL.md describes: every client frame
 * (`clientFrame`), and the server frames `event`, `synced`, `error`, `typing` and `presence`. The
 * gateway builds those server frames through these types. `ack` and `pong` have no schema yet.
 * `ref` is the client's own correlation id, echoed in the answering `ack`, `pong`, `synced` or `error`.
 */
const ref = z.string().min(1).max(128);
const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const clientFrame = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('send'), ref, conversationId: id, clientMsgId, ...messageContent }).superRefine(checkContent),
  z.strictObject({ type: z.literal('read'), ref: ref.optional(), conversationId: id, upToSeq }),
  z.strictObject({ type: z.literal('delivered'), ref: ref.optional(), conversationId: id, upToSeq }),
  z.strictObject({
    type: z.literal('sync'),
    ref: ref.optional(),
    /** The client's inbox position: replay the inbox entries after it. */
    afterUserSeq: seq.optional(),
    /**
     * Per-conversation positions: conversationId -> last seq the client has. A conversation named
     * here is replayed from its stream after that seq, and its inbox entries are left out.
     */
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

export const eventFrame = z.strictObject({
  type: z.literal('event'),
  conversationId: id,
  seq,
  /** Replayed inbox entries only: the entry's position in the user's inbox. */
  userSeq: seq.optional(),
  /**
   * 'user': an event of the user's own stream (what they deleted for themselves in `conversationId`);
   * `seq` is then that stream's revision, not a conversation seq.
   */
  stream: z.literal('user').optional(),
  /** `data` as clients may read it: a recalled message's content is emptied (readableEventData). */
  event: z.strictObject({ type: z.string(), data: z.unknown(), at: z.iso.datetime() }),
});
export type EventFrame = z.infer<typeof eventFrame>;

/** A frame ready for the wire: JSON text, or its UTF-8 bytes. */
export type WireFrame = string | Buffer;

/**
 * One serialisation per event, shared by every socket it goes to: bytes, so that `ws` does not
 * encode the same string again for each socket.
 */
export const serializeEventFrame = (frame: EventFrame): WireFrame => Buffer.from(JSON.stringify(frame));

/** Why a conversation named in a `sync` was not replayed; nothing of it was sent. */
export const skippedConversation = z.strictObject({
  conversationId: id,
  /** not_found: no such conversation (yet: it may not have reached this datacenter); not_a_member: never yours. */
  code: z.enum(['not_found', 'not_a_member']),
});
export type SkippedConversation = z.infer<typeof skippedConversation>;

/** The end of a sync replay: live events follow it. */
export const syncedFrame = z.strictObject({
  type: z.literal('synced'),
  ref: ref.optional(),
  /**
   * Only when the sync had `afterUserSeq`: the inbox position to sync from next time, never below
   * it. A sync by conversations alone replays no inbox, so it has no position to answer.
   */
  nextUserSeq: seq.optional(),
  replayed: z.number().int().nonnegative(),
  /** false: the replay stopped early (too many events, or the read models lagged); sync again. */
  complete: z.boolean(),
  skipped: z.array(skippedConversation),
});
export type SyncedFrame = z.infer<typeof syncedFrame>;

export const errorFrame = z.strictObject({
  type: z.literal('error'),
  ref: ref.optional(),
  code: z.string(),
  message: z.string(),
  /** Validation errors only: zod's issues. */
  issues: z.unknown().optional(),
  /** rate_limited only. */
  retryAfterSeconds: z.number().positive().optional(),
});
export type ErrorFrame = z.infer<typeof errorFrame>;
