import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { ChatService } from '../commands/service.js';
import { isRecalled, type ConversationState } from '../domain/conversation.js';
import type { EventOf } from '../domain/events.js';
import type { EventStore, Subscription } from '../eventstore/port.js';
import type { ConversationFeed, FeedItem } from '../feed/index.js';
import type { Metrics, PushOutcome } from '../observability/metrics.js';
import { pushPolicy, withRetry } from '../shared/retry.js';
import type { ProjectionSink } from '../projections/ports.js';
import { classifyResults, isStale, pushPayload, pushRecipients, type PreviewMode, type PushPayload, type Recipient } from './decide.js';
import type { PushSender } from './fcm.js';

export interface PushWorkerDeps {
  store: EventStore;
  feed: ConversationFeed;
  /** Holds the worker's checkpoint next to the projections' ones. */
  readStore: ProjectionSink;
  /** Users' devices, settings and names; removes dead tokens. */
  service: ChatService;
  /** Closed by the worker when it stops. */
  sender: PushSender;
  /** Online on any instance of the datacenter: push runs on one of them, sockets are on all. */
  isOnline(userId: string): Promise<boolean>;
  /** Only a user's home datacenter knows whether they are online, so only it pushes to them. */
  pushesHere(userId: string): Promise<boolean>;
  logger: Logger;
  outcomes: Metrics['pushOutcomes'];
  options: {
    preview: PreviewMode;
    maxAttempts: number;
    retryBaseMs: number;
    maxAgeMs: number;
  };
}

export const PUSH_CHECKPOINT = 'push';
/** FCM requests in flight at once, over all batches. */
const CONCURRENCY = 32;
/** Feed batches whose pushes may be unsettled at once; past this the feed waits (backpressure). */
const MAX_BATCHES_IN_FLIGHT = 16;

interface PushJob {
  userId: string;
  tokens: string[];
  payload: PushPayload;
  messageId: string;
}

/** A message to push, with what the worker needs of its conversation's state as of the message. */
interface NewMessage {
  conversation: Pick<ConversationState, 'conversationId' | 'kind' | 'title'>;
  memberIds: string[];
  event: EventOf<'MessageSent'>;
  seq: number;
}

interface BatchInFlight {
  /** Position of the batch's last event. */
  position: number;
  settled: boolean;
  done: Promise<void>;
}

/**
 * Follows the event feed from its own checkpoint and pushes each new message to the members who
 * are offline and have not muted the conversation. It runs beside the write path and never in
 * it: a slow or failing FCM delays pushes, never appends.
 *
 * Batches are decided in feed order, and their pushes run side by side: one push waiting to retry
 * does not hold up the pushes of newer messages. The checkpoint moves to the end of the longest
 * run of batches whose pushes have all settled (sent, or given up after the retries), so a
 * restart resumes after it: nothing is skipped, and what was pushed beyond it is pushed again,
 * which devices collapse by message id (see pushPayload).
 */
export class PushWorker {
  private subscription: Subscription | null = null;
  private readonly stopping = new AbortController();
  private readonly limit = pLimit(CONCURRENCY);
  /** Unsettled batches and those settled after an unsettled one, in feed order. */
  private inFlight: BatchInFlight[] = [];
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly deps: PushWorkerDeps) {}

  async start(): Promise<void> {
    const checkpoints = await this.deps.readStore.checkpoints();
    let after = checkpoints[PUSH_CHECKPOINT];
    if (after === undefined) {
      // Push is new here: it starts with the next message, not with the whole history.
      after = await this.deps.store.headPosition();
      await this.saveCheckpoint(after);
    }
    this.subscription = this.deps.feed.follow(
      { name: 'push', take: (item) => this.newMessage(item), handle: (messages, position) => this.process(messages, position) },
      {
        after,
        onError: (err) => {
          if (!this.stopping.signal.aborted) this.deps.logger.error({ err }, 'push batch failed; retrying');
        },
      },
    );
  }

  /** Stops waiting on retries; batches cut short are not checkpointed and run again after a restart. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.subscription?.close();
    await Promise.allSettled(this.inFlight.map((b) => b.done));
    await this.saving;
    await this.deps.sender.close();
  }

  /** A fresh message, with the members it had; the state is lent, so the member ids are copied out of it. */
  private newMessage({ recorded, event, state }: FeedItem): NewMessage | null {
    if (state === null || event.type !== 'MessageSent') return null;
    if (isStale(recorded.metadata.at, Date.now(), this.deps.options.maxAgeMs)) return null;
    const { conversationId, kind, title } = state;
    return { conversation: { conversationId, kind, title }, memberIds: [...state.members.keys()], event, seq: recorded.revision };
  }

  private async process(messages: (NewMessage | null)[], position: number): Promise<void> {
    const jobs: PushJob[] = [];
    for (const message of messages) if (message) jobs.push(...(await this.jobsFor(message)));
    const entry: BatchInFlight = { position, settled: false, done: Promise.resolve() };
    entry.done = Promise.allSettled(jobs.map((job) => this.limit(() => this.deliver(job)))).then((results) => {
      // Only a stop cuts a push short; such a batch stays unsettled and the checkpoint before it.
      if (results.some((r) => r.status === 'rejected')) return;
      entry.settled = true;
      this.advance();
    });
    this.inFlight.push(entry);
    if (this.inFlight.length > MAX_BATCHES_IN_FLIGHT) await this.inFlight[0]!.done;
  }

  /** Moves the checkpoint over the settled batches at the head of the line. */
  private advance(): void {
    let position: number | null = null;
    while (this.inFlight[0]?.settled) position = this.inFlight.shift()!.position;
    if (position === null) return;
    const reached = position;
    this.saving = this.saving
      .then(() => this.saveCheckpoint(reached))
      .catch((err) => this.deps.logger.error({ err }, 'push checkpoint not saved; the next one will be'));
  }

  private async jobsFor({ conversation, memberIds, event, seq }: NewMessage): Promise<PushJob[]> {
    const { users } = this.deps.service;
    const senderId = event.data.senderId;
    const candidates: Recipient[] = [];
    for (const userId of memberIds) {
      // Only offline members can get a push, so only their user states are loaded.
      if ((await this.deps.isOnline(userId)) || !(await this.deps.pushesHere(userId))) continue;
      const { state: user } = await users.load(userId);
      candidates.push({
        userId,
        online: false,
        muted: user.settings.get(conversation.conversationId)?.muted ?? false,
        tokens: [...user.devices.keys()],
      });
    }
    const recipients = pushRecipients(senderId, candidates);
    if (recipients.length === 0) return [];
    // A lagging worker's state is as of the message; the current one knows whether it was recalled since.
    const { recalledSeqs } = (await this.deps.service.conversations.load(conversation.conversationId)).state;
    if (isRecalled(recalledSeqs, seq)) return [];
    const sender = (await users.load(senderId)).state;
    const payload = pushPayload(
      {
        conversationId: conversation.conversationId,
        conversationKind: conversation.kind,
        conversationTitle: conversation.title,
        seq,
        senderName: sender.displayName || sender.username,
        message: event.data,
      },
      this.deps.options.preview,
    );
    return recipients.map((r) => ({ userId: r.userId, tokens: r.tokens, payload, messageId: event.data.messageId }));
  }

  /**
   * One multicast to a user's devices; transient failures are retried for the tokens that had
   * them. Rejects only when the worker stops.
   */
  private async deliver(job: PushJob): Promise<void> {
    const { maxAttempts, retryBaseMs } = this.deps.options;
    let tokens = job.tokens;
    const attempt = async (attemptNumber: number) => {
      if (attemptNumber > 1) this.count('retried', tokens.length);
      tokens = await this.sendOnce(job, tokens, attemptNumber);
      if (tokens.length > 0) throw new Error(`push to ${tokens.length} token(s) failed transiently`);
    };
    try {
      await withRetry(pushPolicy(maxAttempts, retryBaseMs), attempt, { signal: this.stopping.signal });
    } catch (err) {
      // No token left: the last attempt went through, and only the stop was noticed after it.
      if (tokens.length === 0) return;
      if (this.stopping.signal.aborted) throw err;
      this.count('given_up', tokens.length);
      this.deps.logger.warn({ userId: job.userId, messageId: job.messageId, tokens: tokens.length }, 'push given up after retries');
    }
  }

  /** One multicast to `tokens`; answers those that failed transiently, to be sent again. */
  private async sendOnce(job: PushJob, tokens: string[], attemptNumber: number): Promise<string[]> {
    try {
      const results = classifyResults(await this.deps.sender.send(tokens, job.payload));
      this.count('sent', results.sent.length);
      this.count('pruned', results.prune.length);
      this.count('failed', results.failed.length);
      for (const token of results.prune) await this.prune(job, token);
      for (const f of results.failed) this.deps.logger.warn({ userId: job.userId, code: f.errorCode }, 'push refused');
      return results.retry;
    } catch (err) {
      // The request as a whole failed (network, credentials): every token is retried.
      this.deps.logger.warn({ err, userId: job.userId, attempt: attemptNumber }, 'push request failed');
      return tokens;
    }
  }

  private count(outcome: PushOutcome, tokens: number): void {
    this.deps.outcomes.inc({ outcome }, tokens);
  }

  private async prune(job: PushJob, token: string): Promise<void> {
    try {
      await this.deps.service.removeDevice(job.userId, token, { correlationId: `push-${job.messageId}` });
      this.deps.logger.info({ userId: job.userId }, 'removed a push token FCM no longer accepts');
    } catch (err) {
      // not_found: its user removed it meanwhile. Otherwise the next push to it prunes it again.
      if ((err as { code?: string }).code !== 'not_found') this.deps.logger.error({ err, userId: job.userId }, 'push token not removed');
    }
  }

  private saveCheckpoint(position: number): Promise<void> {
    return this.deps.readStore.apply({ writes: [], checkpoints: { [PUSH_CHECKPOINT]: position } });
  }
}
