import { PREVIEW_LENGTH } from '../domain/conversation.js';
import type { EventData } from '../domain/events.js';

/** Pure push decisions: who gets a push for a message, what it says, and what a send result means. */

export type PreviewMode = 'show' | 'hide';

export interface Recipient {
  userId: string;
  /** Has a live socket: the app is open and gets the message over the socket. */
  online: boolean;
  muted: boolean;
  tokens: string[];
}

/** Every member but the sender who is offline, has not muted the conversation, and has a device. */
export function pushRecipients(senderId: string, members: Recipient[]): Recipient[] {
  return members.filter((m) => m.userId !== senderId && !m.online && !m.muted && m.tokens.length > 0);
}

/** After an outage the worker catches up, but a message this old is no longer news. */
export const isStale = (sentAt: string, nowMs: number, maxAgeMs: number) => nowMs - Date.parse(sentAt) > maxAgeMs;

export interface PushContent {
  conversationId: string;
  conversationKind: 'direct' | 'group';
  conversationTitle: string | null;
  seq: number;
  senderName: string;
  message: EventData<'MessageSent'>;
}

/** The FCM message without its target: the same for every device of every recipient. */
export interface PushPayload {
  notification: { title: string; body: string };
  data: Record<string, string>;
  android: { priority: 'high'; notification: { tag: string } };
  apns: { headers: Record<string, string>; payload: { aps: { threadId: string; sound: string } } };
}

export function pushPayload(content: PushContent, preview: PreviewMode): PushPayload {
  const { message } = content;
  const text = preview === 'hide' ? 'New message' : truncate(messagePreview(message), PREVIEW_LENGTH);
  const group = content.conversationKind === 'group';
  return {
    notification: {
      title: group ? (content.conversationTitle ?? content.senderName) : content.senderName,
      body: group ? `${content.senderName}: ${text}` : text,
    },
    // Data values must be strings in FCM; the client opens conversationId and syncs up to seq.
    data: {
      type: 'message',
      conversationId: content.conversationId,
      seq: String(content.seq),
      messageId: message.messageId,
      senderId: message.senderId,
    },
    // A push sent twice (a retry after a crash) replaces the first on the device instead of adding
    // a second: the tag and the collapse id are the message's id.
    android: { priority: 'high', notification: { tag: message.messageId } },
    apns: {
      headers: { 'apns-collapse-id': message.messageId },
      payload: { aps: { threadId: content.conversationId, sound: 'default' } },
    },
  };
}

/** What a notification says of a message: its text, or what it carries ("Photo", "Location") and the caption. */
export function messagePreview(message: EventData<'MessageSent'>): string {
  if (message.kind === 'text') return message.text ?? '';
  const label = message.kind === 'location' ? 'Location' : mediaLabel(message.media?.mime ?? '');
  const detail = message.text ?? (message.kind === 'location' ? message.location?.name : undefined);
  return detail ? `${label}: ${detail}` : label;
}

const mediaLabel = (mime: string) =>
  mime.startsWith('image/') ? 'Photo' : mime.startsWith('video/') ? 'Video' : mime.startsWith('audio/') ? 'Voice message' : 'File';

const truncate = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** One token's result, as firebase-admin reports it (`messaging/...` error codes). */
export interface TokenResult {
  token: string;
  errorCode?: string;
}

export interface Classified {
  sent: string[];
  /** Dead tokens: remove them from the user. */
  prune: string[];
  /** Transient failures: send again later. */
  retry: string[];
  /** Permanent failures that say nothing about the token. */
  failed: TokenResult[];
}

const DEAD_TOKEN = new Set(['messaging/registration-token-not-registered', 'messaging/invalid-registration-token']);
/**
 * Worth another try later. firebase-admin itself retries a 503 a few times within one send
 * (honouring Retry-After); what still fails after that, and what it leaves to its caller (500,
 * 429, network errors), comes here.
 */
const TRANSIENT = new Set([
  'messaging/server-unavailable',
  'messaging/internal-error',
  'messaging/message-rate-exceeded',
  'messaging/device-message-rate-exceeded',
  'messaging/unknown-error',
  'app/network-error',
  'app/network-timeout',
]);

/**
 * Sorts one multicast's results. FCM v1 answers INVALID_ARGUMENT both for a malformed token and for
 * a bad payload; the payload is the same for every token of a multicast, so one that got through
 * proves the payload right and the others' INVALID_ARGUMENT blames their tokens.
 */
export function classifyResults(results: TokenResult[]): Classified {
  const out: Classified = { sent: [], prune: [], retry: [], failed: [] };
  const payloadValid = results.some((r) => r.errorCode === undefined);
  for (const r of results) {
    if (r.errorCode === undefined) out.sent.push(r.token);
    else if (DEAD_TOKEN.has(r.errorCode) || (payloadValid && r.errorCode === 'messaging/invalid-argument')) out.prune.push(r.token);
    else if (TRANSIENT.has(r.errorCode)) out.retry.push(r.token);
    else out.failed.push(r);
  }
  return out;
}
