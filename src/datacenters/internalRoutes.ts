import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { sameSecret } from '../api/auth.js';
import type { AppendedEvent, CommandContext } from '../commands/commandHandler.js';
import { DomainError, WrongExpectedRevision } from '../domain/errors.js';
import { eventMetadata } from '../domain/events.js';
import type { EventStore } from '../eventstore/port.js';
import { homeNamedBy, type Homes } from './homes.js';
import type { StoredKey } from '../privacy/keyStore.js';
import { signalSchema, type Signal } from './peerLink.js';

/** Events a home answers with at most at once; the asking DC comes back for the rest. */
const MAX_EVENTS_PER_ANSWER = 1000;
/** Events of the stream before a forwarded command's own that its answer carries at most. */
const MAX_EVENTS_BEFORE_OWN = 100;
/** A forwarded append is at most the store's bound (1 MiB) plus its JSON framing. */
const BODY_LIMIT = '4mb';

const forwardedAppend = z.object({
  streamId: z.string().min(1).max(200),
  events: z.array(z.object({ type: z.string().min(1), data: z.unknown(), metadata: eventMetadata })).min(1),
  expected: z.union([z.literal('no_stream'), z.number().int().nonnegative()]),
  knownRevision: z.number().int().min(-1),
});

const streamRange = z.object({
  fromRevision: z.coerce.number().int().nonnegative().default(0),
  maxCount: z.coerce.number().int().min(1).max(MAX_EVENTS_PER_ANSWER).default(MAX_EVENTS_PER_ANSWER),
});

export const forwardedCommand = z.object({
  streamId: z.string().min(1).max(200),
  // A command as this code's own command handlers take it: the sending DC runs the same code.
  command: z.looseObject({ type: z.string().min(1) }),
  context: z.object({ correlationId: z.string().min(1).max(200), causationId: z.string().max(200).optional() }),
  knownRevision: z.number().int().min(-1),
});

export interface InternalRouteDeps {
  secret: string;
  homes: Homes;
  /** The local store (never the forwarding one: this DC is the home of what it is asked to append). */
  store: EventStore;
  /** Runs a command another DC forwarded, for a stream homed here; answers the events it decided. */
  executeHere(streamId: string, command: unknown, context: CommandContext): Promise<{ events: AppendedEvent<unknown>[] }>;
  onSignal(signal: Signal): void;
  /** This DC's copy of a user's wrapped data key, for a DC that has none yet. */
  storedKey(userId: string): Promise<StoredKey>;
}

/**
 * The internal link's server side, under /internal/v1, for the other datacenters' apps only (the
 * shared DC_LINK_SECRET): forwarded appends to streams homed here, reads of those streams to fill
 * gaps, users' wrapped keys, and ephemeral signals for the sockets held here.
 */
export function internalRoutes({ secret, homes, store, executeHere, onSignal, storedKey }: InternalRouteDeps): Router {
  const router = Router();
  router.use('/internal/v1', (req: Request, _res: Response, next: NextFunction) => {
    // The whole header is compared: a secret may hold spaces, which a bearer token may not.
    if (!sameSecret(req.headers.authorization ?? '', `Bearer ${secret}`)) throw new DomainError('unauthenticated', 'the internal link needs DC_LINK_SECRET');
    next();
  });
  router.use('/internal/v1', express.json({ limit: BODY_LIMIT }));

  const streamAfter = (streamId: string, knownRevision: number) =>
    store.readStream(streamId, { fromRevision: knownRevision + 1, maxCount: MAX_EVENTS_PER_ANSWER });

  router.post('/internal/v1/commands', async (req, res) => {
    const { streamId, command, context, knownRevision } = forwardedCommand.parse(req.body);
    await mustBeHome(homes, streamId, (command as { homeDc?: string }).homeDc);
    let answer: { events: AppendedEvent<unknown>[]; refused?: { code: string; message: string } };
    try {
      answer = { events: (await executeHere(streamId, command, context)).events };
    } catch (error) {
      // A refusal is decided here on the newest state: the asking DC gets the stream too, so that it
      // holds what the refusal was decided on (e.g. the conversation it did not know yet).
      if (!(error instanceof DomainError) || error.code === 'unavailable') throw error;
      answer = { events: [], refused: { code: error.code, message: error.message } };
    }
    res.json({ ...answer, stream: await answerRange(store, streamId, knownRevision, answer.events.map((e) => e.seq)) });
  });

  router.post('/internal/v1/append', async (req, res) => {
    const { streamId, events, expected, knownRevision } = forwardedAppend.parse(req.body);
    await mustBeHome(homes, streamId, homeNamedBy(events[0]));
    // The home is the writer: the events are its own from here on, and so published from its topic.
    const own = events.map((e) => ({ ...e, metadata: { ...e.metadata, originDc: homes.self } }));
    let outcome: 'appended' | 'conflict';
    let revision: number;
    try {
      revision = (await store.append(streamId, own, expected)).nextExpectedRevision;
      outcome = 'appended';
    } catch (error) {
      if (!(error instanceof WrongExpectedRevision)) throw error;
      [outcome, revision] = ['conflict', error.actual];
    }
    res.json({ outcome, revision, events: await streamAfter(streamId, knownRevision) });
  });

  router.get('/internal/v1/streams/:streamId', async (req, res) => {
    const { fromRevision, maxCount } = streamRange.parse(req.query);
    res.json({ events: await store.readStream(String(req.params.streamId), { fromRevision, maxCount }) });
  });

  router.get('/internal/v1/keys/:userId', async (req, res) => {
    const stored = await storedKey(String(req.params.userId));
    res.json(stored.state === 'live' ? { state: 'live', wrapped: stored.wrapped.toString('base64') } : stored);
  });

  router.post('/internal/v1/signals', (req, res) => {
    onSignal(signalSchema.parse(req.body));
    res.status(204).end();
  });
  return router;
}

/**
 * The stream a forwarded command's answer carries: what the asking DC lacked, up to the command's own
 * events, but at most MAX_EVENTS_BEFORE_OWN before them. Many commands in flight at once all lack the
 * same tail; each answer carrying all of it would cost in proportion to the square of their number.
 * The asking DC copies answers of one stream one at a time, so most of that tail is already there,
 * and it fetches the rest if not.
 */
async function answerRange(store: EventStore, streamId: string, knownRevision: number, ownSeqs: number[]) {
  if (ownSeqs.length === 0) return store.readStream(streamId, { fromRevision: knownRevision + 1, maxCount: MAX_EVENTS_BEFORE_OWN });
  const last = Math.max(...ownSeqs);
  const from = Math.max(knownRevision + 1, Math.min(...ownSeqs) - MAX_EVENTS_BEFORE_OWN);
  return store.readStream(streamId, { fromRevision: from, maxCount: last - from + 1 });
}

/** A DC asking here must agree that this is the home; if not, their configurations differ. */
async function mustBeHome(homes: Homes, streamId: string, namedHome: string | undefined): Promise<void> {
  const home = await homes.of(streamId, namedHome);
  if (home !== homes.self) throw new DomainError('conflict', `stream ${streamId} is written by ${home}, not ${homes.self}`);
}
