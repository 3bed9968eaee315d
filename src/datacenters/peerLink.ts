import { z } from 'zod';
import type { CommandContext } from '../commands/commandHandler.js';
import { DomainError, isDomainErrorCode } from '../domain/errors.js';
import { eventMetadata } from '../domain/events.js';
import type { ExpectedRevision } from '../eventstore/expectedRevision.js';
import type { EventToAppend, RecordedEvent } from '../eventstore/port.js';
import type { StoredKey } from '../privacy/keyStore.js';

/** Seconds a client is told to wait before retrying a command whose home is out of reach. */
export const HOME_RETRY_AFTER_SECONDS = 5;

export class HomeUnavailable extends DomainError {
  constructor(homeDc: string) {
    super(
      'home_dc_unavailable',
      `datacenter ${homeDc}, which writes this, cannot be reached; nothing was stored, try again later`,
      undefined,
      { homeDc, retryAfterSeconds: HOME_RETRY_AFTER_SECONDS },
    );
  }
}

/** The user's account lives in another datacenter; `url` is where its clients should go. */
export const wrongDc = (homeDc: string, url: string | undefined) =>
  new DomainError('wrong_dc', `this account belongs to datacenter ${homeDc}; connect there`, undefined, { homeDc, url: url ?? null });

export const linkedEvent = z.object({
  streamId: z.string().min(1),
  revision: z.number().int().nonnegative(),
  position: z.number().int().nonnegative(),
  type: z.string().min(1),
  data: z.unknown(),
  metadata: eventMetadata,
});

/** What a home answers to a forwarded append: its outcome, and the stream's events after `knownRevision`. */
export const appendAnswer = z.object({
  outcome: z.enum(['appended', 'conflict']),
  /** appended: revision of the last event appended; conflict: the stream's last revision. */
  revision: z.number().int().min(-1),
  events: z.array(linkedEvent),
});
export type AppendAnswer = z.infer<typeof appendAnswer>;

export interface ForwardedAppend {
  streamId: string;
  events: EventToAppend[];
  expected: ExpectedRevision;
  /** The caller holds the stream up to here: the answer carries the events after it. */
  knownRevision: number;
}

const streamAnswer = z.object({ events: z.array(linkedEvent) });

const storedKeyAnswer = z.discriminatedUnion('state', [
  z.object({ state: z.literal('live'), wrapped: z.base64() }),
  z.object({ state: z.literal('erased') }),
  z.object({ state: z.literal('none') }),
]);

/** The signals another DC relays to the sockets it holds (see Signals). */
export const signalSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('typing'), conversationId: z.string().min(1), userId: z.string().min(1), typing: z.boolean() }),
  z.object({ kind: z.literal('presence'), userId: z.string().min(1), online: z.boolean(), lastSeenAt: z.string().nullable() }),
]);
export type Signal = z.infer<typeof signalSchema>;

export interface ForwardedCommand {
  streamId: string;
  command: unknown;
  context: CommandContext;
  /** The caller holds the stream up to here: the answer carries the events after it. */
  knownRevision: number;
}

/** What a home answers to a forwarded command: the events it decided, and the stream after `knownRevision`. */
export const commandAnswer = z.object({
  refused: z.object({ code: z.string(), message: z.string() }).optional(),
  events: z.array(z.object({ event: z.object({ type: z.string(), data: z.unknown() }), seq: z.number().int().nonnegative(), at: z.string(), eventId: z.string() })),
  stream: z.array(linkedEvent),
});
export type CommandAnswer = z.infer<typeof commandAnswer>;

/**
 * The authenticated HTTP link to the other datacenters' apps. Any failure to get an answer (refused,
 * timed out, a 5xx) means the peer is out of reach: HomeUnavailable, which the API answers with 503
 * `home_dc_unavailable`. A 4xx is the peer refusing the request, passed on as its DomainError.
 */
/** The home's refusal is the client's answer (not_a_member, conflict, ...), told as the home told it. */
export function refusal({ code, message }: { code?: string; message?: string }): DomainError {
  return new DomainError(code && isDomainErrorCode(code) ? code : 'misconfigured', message ?? 'refused by another datacenter');
}

export class PeerLink {
  constructor(
    private readonly self: string,
    private readonly peers: ReadonlyMap<string, string>,
    private readonly secret: string,
    private readonly timeoutMs: number,
  ) {}

  async append(dc: string, request: ForwardedAppend): Promise<AppendAnswer> {
    return appendAnswer.parse(await this.call(dc, '/internal/v1/append', { method: 'POST', body: JSON.stringify(request) }));
  }

  async command(dc: string, request: ForwardedCommand): Promise<CommandAnswer> {
    return commandAnswer.parse(await this.call(dc, '/internal/v1/commands', { method: 'POST', body: JSON.stringify(request) }));
  }

  async readStream(dc: string, streamId: string, fromRevision: number, maxCount: number): Promise<RecordedEvent[]> {
    const query = new URLSearchParams({ fromRevision: String(fromRevision), maxCount: String(maxCount) });
    const answer = await this.call(dc, `/internal/v1/streams/${encodeURIComponent(streamId)}?${query}`, { method: 'GET' });
    return streamAnswer.parse(answer).events as RecordedEvent[];
  }

  async key(dc: string, userId: string): Promise<StoredKey> {
    const answer = storedKeyAnswer.parse(await this.call(dc, `/internal/v1/keys/${encodeURIComponent(userId)}`, { method: 'GET' }));
    return answer.state === 'live' ? { state: 'live', wrapped: Buffer.from(answer.wrapped, 'base64') } : answer;
  }

  async signal(dc: string, signal: Signal): Promise<void> {
    await this.call(dc, '/internal/v1/signals', { method: 'POST', body: JSON.stringify(signal) });
  }

  private async call(dc: string, path: string, init: { method: string; body?: string }): Promise<unknown> {
    const base = this.peers.get(dc);
    if (!base) throw new HomeUnavailable(dc);
    let response: Response;
    try {
      response = await fetch(base + path, {
        ...init,
        headers: { authorization: `Bearer ${this.secret}`, 'content-type': 'application/json', 'x-dc-id': this.self },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch {
      throw new HomeUnavailable(dc);
    }
    const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    if (response.status >= 500 || body === null) throw new HomeUnavailable(dc);
    if (!response.ok) {
      throw refusal(body.error ?? { code: 'misconfigured', message: `datacenter ${dc} refused with ${response.status}` });
    }
    return body;
  }
}
