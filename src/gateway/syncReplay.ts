import type { ChatService } from '../commands/service.js';
import type { PersonalView } from '../domain/conversation.js';
import { conflict, DomainError } from '../domain/errors.js';
import { userStream } from '../domain/streams.js';
import type { EventStore } from '../eventstore/port.js';
import type { ConversationQueries, InboxQueries } from '../projections/ports.js';
import { readableInbox, readableTimeline } from '../api/views.js';
import { serializeEventFrame, type ClientFrame, type SkippedConversation, type SyncedFrame } from './frames.js';
import type { Session } from './session.js';

export interface SyncReplayDeps {
  store: EventStore;
  service: ChatService;
  readStore: SyncReads;
  waitForProjections(position: number): Promise<boolean>;
  /** The last feed position delivered live. */
  livePosition(): number;
}

type SyncReads = InboxQueries & Pick<ConversationQueries, 'getConversation'>;

export type SyncFrame = Extract<ClientFrame, { type: 'sync' }>;

/** A sync replays at most this many events; `complete: false` tells the client to sync again. */
const MAX_REPLAY = 10_000;
const REPLAY_PAGE = 500;

/**
 * Replays what the client missed, then releases the live events held meanwhile. Everything up
 * to the live position at the start comes from the read models (once they include it) and the
 * store; the rest arrives live. Each conversation is replayed from one source, so every event
 * reaches the client once and each conversation's seqs ascend: one named in `conversations`
 * from its stream after the client's seq (its inbox entries are passed over: a pull-mode group's
 * inbox holds only some of its events), any other from the inbox. Named conversations the user
 * may not read are found before anything is replayed and reported in `synced.skipped`, so a
 * sync always ends with `synced`. The `synced` frame says whether the replay was complete.
 */
export async function replaySync(deps: SyncReplayDeps, session: Session, frame: SyncFrame): Promise<void> {
  if (session.syncing) throw conflict('a sync is already running on this socket');
  session.beginReplay();
  try {
    const { named, skipped } = await readableConversations(deps.service, session.userId, frame.conversations ?? {});
    const { views } = await deps.service.userCommands.requireUser(session.userId);
    let complete = await deps.waitForProjections(deps.livePosition());
    let replayed = 0;
    let nextUserSeq: number | undefined;
    if (frame.afterUserSeq !== undefined) {
      const inbox = await replayInbox(deps.readStore, session, frame.afterUserSeq, new Set(named.map((c) => c.conversationId)), views);
      nextUserSeq = inbox.nextUserSeq;
      replayed += inbox.replayed;
      complete &&= inbox.complete;
    }
    for (const { conversationId, afterSeq, maxSeq } of named) {
      const wanted = maxSeq - afterSeq;
      const budget = Math.max(0, MAX_REPLAY - replayed);
      if (wanted <= 0) continue;
      if (wanted > budget) complete = false;
      if (budget === 0) continue;
      const items = await readableTimeline(deps.store, deps.service.conversations, conversationId, afterSeq + 1, Math.min(wanted, budget), views.get(conversationId));
      for (const { seq, ...event } of items) {
        if (session.replay(conversationId, seq, serializeEventFrame({ type: 'event', conversationId, seq, event }))) replayed++;
      }
    }
    const synced: SyncedFrame = { type: 'synced', ref: frame.ref, nextUserSeq, replayed, complete, skipped };
    session.sendJson(synced);
  } finally {
    session.endReplay();
  }
}

/** The named conversations this user may read, with the seqs to replay; the others, and why not. */
async function readableConversations(service: ChatService, userId: string, positions: Record<string, number>) {
  const named: { conversationId: string; afterSeq: number; maxSeq: number }[] = [];
  const skipped: SkippedConversation[] = [];
  for (const [conversationId, afterSeq] of Object.entries(positions)) {
    try {
      const { maxSeq } = await service.visibleConversation(userId, conversationId);
      named.push({ conversationId, afterSeq, maxSeq });
    } catch (error) {
      const code = error instanceof DomainError ? error.code : null;
      if (code !== 'not_found' && code !== 'not_a_member') throw error;
      skipped.push({ conversationId, code });
    }
  }
  return { named, skipped };
}

/**
 * Replays the inbox after `afterUserSeq`, passing over the conversations replayed from their
 * streams. Entries from the user's own stream (what they deleted for themselves) are ordered by
 * that stream's revision, apart from every conversation's seqs.
 */
async function replayInbox(
  readStore: SyncReads,
  session: Session,
  afterUserSeq: number,
  fromStreams: ReadonlySet<string>,
  views: ReadonlyMap<string, PersonalView>,
) {
  let nextUserSeq = afterUserSeq;
  let replayed = 0;
  for (;;) {
    const entries = await readStore.listInbox(session.userId, nextUserSeq, REPLAY_PAGE);
    for (const e of await readableInbox(readStore, entries, views)) {
      nextUserSeq = e.userSeq;
      const { conversationId, seq, userSeq, stream } = e;
      if (!stream && fromStreams.has(conversationId)) continue;
      const event = { type: e.type, data: e.data, at: e.at };
      const frame = serializeEventFrame({ type: 'event', conversationId, seq, userSeq, ...(stream ? { stream } : {}), event });
      if (session.replay(stream ? userStream(session.userId) : conversationId, seq, frame)) replayed++;
    }
    if (entries.length < REPLAY_PAGE) return { nextUserSeq, replayed, complete: true };
    if (replayed >= MAX_REPLAY) return { nextUserSeq, replayed, complete: false };
  }
}
