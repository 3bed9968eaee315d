import type { Logger } from 'pino';
import type { RawData } from 'ws';
import { describeError } from '../api/errors.js';
import { RateLimitedError, type RateLimits } from '../api/limits.js';
import type { ChatService } from '../commands/service.js';
import { DomainError } from '../domain/errors.js';
import type { MediaLibrary } from '../media/index.js';
import { holdBack } from './flood.js';
import { clientFrame, type ClientFrame, type ErrorFrame } from './frames.js';
import type { PresenceTracker } from './presence.js';
import type { Session } from './session.js';
import type { SyncFrame } from './syncReplay.js';
import type { TypingTracker } from './typing.js';

export interface FrameHandlerDeps {
  service: ChatService;
  /** Checks that a send's media is the sender's own upload. */
  media: Pick<MediaLibrary, 'attachment'>;
  limits: RateLimits;
  presence: PresenceTracker;
  typing: TypingTracker;
  /** Groups with more members: typing is throttled per sender. */
  inboxPullThreshold: number;
  sync(session: Session, frame: SyncFrame): Promise<void>;
  /** Whether the gateway is stopping: new frames are then refused. */
  stopping(): boolean;
  logger: Logger;
}

/**
 * Answers one client frame: charges it to the socket's flood budget, parses it, runs it and
 * replies; any failure becomes an `error` frame carrying the frame's `ref`.
 */
export async function handleFrame(deps: FrameHandlerDeps, session: Session, data: RawData, isBinary: boolean): Promise<void> {
  session.markAlive();
  let ref: string | undefined;
  try {
    // Every frame is charged, even one that turns out not to be JSON.
    const verdict = await session.flood.admit();
    if (verdict !== 'ok') holdBack(session.socket, verdict);
    if (verdict === 'close') return;
    let raw: unknown;
    try {
      if (isBinary) throw new Error('binary');
      raw = JSON.parse(data.toString());
    } catch {
      session.sendJson({ type: 'error', code: 'invalid_json', message: 'frames are JSON text' });
      return;
    }
    ref = typeof (raw as { ref?: unknown })?.ref === 'string' ? (raw as { ref: string }).ref.slice(0, 128) : undefined;
    if (deps.stopping()) throw new DomainError('unavailable', 'the server is shutting down; reconnect and send again');
    if (verdict === 'refuse') throw new RateLimitedError('too many frames: slow down; this one was dropped', 1);
    await dispatch(deps, session, clientFrame.parse(raw));
  } catch (error) {
    const { status: _status, ...described } = describeError(error);
    if (described.code === 'internal') deps.logger.error({ err: error }, 'frame failed');
    const frame: ErrorFrame = { type: 'error', ...(ref ? { ref } : {}), ...described };
    session.sendJson(frame);
  }
}

async function dispatch(deps: FrameHandlerDeps, session: Session, frame: ClientFrame): Promise<void> {
  const { service } = deps;
  const ctx = { correlationId: frame.ref ?? `ws-${session.principal.deviceId}` };
  const userId = session.userId;
  switch (frame.type) {
    case 'send': {
      await deps.limits.send(userId, session.remoteAddress);
      // Acknowledged only now: service.send resolves after the append is durable.
      const attachment = await deps.media.attachment(userId, frame);
      const sent = await service.send(userId, frame.conversationId, frame.clientMsgId, frame.text ?? null, ctx, attachment);
      session.sendJson({ type: 'ack', ref: frame.ref, conversationId: frame.conversationId, messageId: sent.messageId, seq: sent.seq });
      return;
    }
    case 'read': {
      const { readSeq, unreadCount } = await service.markRead(userId, frame.conversationId, frame.upToSeq, ctx);
      session.sendJson({ type: 'ack', ref: frame.ref, conversationId: frame.conversationId, readSeq, unreadCount });
      return;
    }
    case 'delivered': {
      const { deliveredSeq } = await service.markDelivered(userId, frame.conversationId, frame.upToSeq, ctx);
      session.sendJson({ type: 'ack', ref: frame.ref, conversationId: frame.conversationId, deliveredSeq });
      return;
    }
    case 'typing': {
      const state = await service.currentMember(userId, frame.conversationId);
      deps.presence.touch(userId, new Date().toISOString());
      if (frame.typing) deps.typing.started(frame.conversationId, userId, state.members.size > deps.inboxPullThreshold);
      else deps.typing.stopped(frame.conversationId, userId);
      return;
    }
    case 'ping':
      if (frame.foreground) deps.presence.touch(userId, new Date().toISOString());
      session.sendJson({ type: 'pong', ref: frame.ref });
      return;
    case 'sync':
      return deps.sync(session, frame);
  }
}
