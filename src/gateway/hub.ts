import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { bearerToken, type Principal, type TokenService } from '../api/auth.js';
import { describeError, type ErrorDescription } from '../api/errors.js';
import type { Homes } from '../datacenters/index.js';
import { FloodGuard, type FloodOptions } from './flood.js';
import type { PresenceTracker } from './presence.js';
import { Session } from './session.js';

export interface HubDeps {
  tokens: TokenService;
  presence: PresenceTracker;
  logger: Logger;
  maxPayloadBytes: number;
  heartbeatIntervalMs: number;
  /** A socket silent for longer is dropped. */
  presenceTimeoutMs: number;
  flood: FloodOptions;
  /** Handles one frame a client sent. */
  /** Sockets of users who belong to another datacenter are refused with `wrong_dc`. */
  homes: Pick<Homes, 'misplaced'>;
  onFrame(session: Session, data: RawData, isBinary: boolean): Promise<void>;
}

export const WS_PATH = '/v1/ws';
/** How long a graceful stop waits for frames being handled before closing the sockets anyway. */
const DRAIN_TIMEOUT_MS = 5000;

/**
 * The connections on this instance: authenticates socket upgrades, keeps each user's sessions,
 * pings them and drops the silent ones, and sends frames to users.
 */
export class ConnectionHub {
  private readonly sessions = new Map<string, Set<Session>>();
  private readonly wss: WebSocketServer;
  private heartbeat: NodeJS.Timeout | null = null;
  /** Frames being handled; a graceful stop lets them finish so their acks still go out. */
  private readonly inFlight = new Set<Promise<void>>();
  private isDraining = false;

  constructor(private readonly deps: HubDeps) {
    // Compression off: it costs CPU per socket per frame, and chat frames are small.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxPayloadBytes, perMessageDeflate: false });
  }

  get connectionCount(): number {
    let n = 0;
    for (const set of this.sessions.values()) n += set.size;
    return n;
  }

  /** Users with at least one socket here. */
  get users(): ReadonlyMap<string, ReadonlySet<Session>> {
    return this.sessions;
  }

  /** A stop has begun: frames that arrive now are refused. */
  get draining(): boolean {
    return this.isDraining;
  }

  sendToUsers(userIds: Iterable<string>, frame: string): void {
    for (const u of userIds) for (const s of this.sessions.get(u) ?? []) s.send(frame);
  }

  listen(server: Server): void {
    server.on('upgrade', (req, socket, head) => void this.upgrade(req, socket, head));
    this.heartbeat = setInterval(() => this.beat(), this.deps.heartbeatIntervalMs);
  }

  /** Stops the heartbeat and waits (within a bound) for the frames being handled. */
  async drain(): Promise<void> {
    this.isDraining = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    await Promise.race([Promise.allSettled(this.inFlight), new Promise((r) => setTimeout(r, DRAIN_TIMEOUT_MS).unref())]);
  }

  /** Ends every session of the user here (their account was erased): 1008, as for a refused token. */
  closeSessionsOf(userId: string, reason: string): void {
    for (const s of this.sessions.get(userId) ?? []) s.socket.close(1008, reason);
  }

  closeSockets(): void {
    for (const set of this.sessions.values()) for (const s of set) s.socket.close(1001, 'server going away');
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) return refuse(socket, 404, 'Not Found');
    const token = bearerToken(req.headers.authorization, url.searchParams.get('token'));
    let principal: Principal;
    try {
      if (!token) throw new Error('missing token');
      principal = await this.deps.tokens.verify(token);
    } catch {
      return refuse(socket, 401, 'Unauthorized');
    }
    const misplaced = await this.deps.homes.misplaced(principal.userId).catch(() => null);
    if (misplaced) return refuse(socket, 409, 'Conflict', describeError(misplaced));
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connect(ws, socket, principal, req.socket.remoteAddress ?? 'unknown'));
  }

  private connect(ws: WebSocket, wire: Duplex, principal: Principal, remoteAddress: string): void {
    const session = new Session(ws, wire, principal, remoteAddress, new FloodGuard(this.deps.flood));
    let set = this.sessions.get(principal.userId);
    if (!set) this.sessions.set(principal.userId, (set = new Set()));
    set.add(session);
    this.deps.presence.connected(principal.userId);
    ws.on('pong', () => session.markAlive());
    ws.on('message', (data, isBinary) => {
      const handling = this.deps.onFrame(session, data, isBinary);
      this.inFlight.add(handling);
      void handling.finally(() => this.inFlight.delete(handling));
    });
    ws.on('error', (err) => this.deps.logger.debug({ err, userId: principal.userId }, 'socket error'));
    ws.on('close', () => {
      set.delete(session);
      if (set.size === 0) this.sessions.delete(principal.userId);
      this.deps.presence.disconnected(principal.userId);
    });
  }

  /**
   * Pings every socket and drops those silent for too long. A socket still silent now would pass
   * the timeout before the next beat, so it goes now: nothing stays past the timeout.
   */
  private beat(): void {
    const silentLimit = Date.now() - (this.deps.presenceTimeoutMs - this.deps.heartbeatIntervalMs);
    for (const set of this.sessions.values()) {
      for (const s of set) {
        if (s.lastAliveAt < silentLimit) s.socket.terminate();
        else s.socket.ping();
      }
    }
  }
}

/** Answers the upgrade request with a plain HTTP error, with the REST API's error body when there is one. */
function refuse(socket: Duplex, status: number, reason: string, error?: ErrorDescription): void {
  const { status: _status, ...described } = error ?? {};
  const body = error ? JSON.stringify({ error: described }) : '';
  const type = error ? 'Content-Type: application/json\r\n' : '';
  socket.write(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n${type}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  socket.destroy();
}
