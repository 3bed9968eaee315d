import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, createServer, type RequestOptions, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Credential } from 'firebase-admin/app';
import type { FcmOptions } from '../../src/push/index.js';
import { GIVE_UP_AFTER_MS } from './waits.js';

/**
 * A local stand-in for the FCM HTTP v1 endpoint: a real HTTPS server answering
 * `POST /v1/projects/<id>/messages:send` the way FCM does, including its error bodies.
 *
 * firebase-admin always sends to https://fcm.googleapis.com. The agent below connects those
 * requests to this server instead and still verifies TLS: the server's certificate (in ./fcm,
 * self-signed, for fcm.googleapis.com, valid 2000-2100) is the agent's only trusted CA. The
 * library itself runs unchanged: message building, auth header, request, error parsing.
 */
const CERT = readFileSync(new URL('./fcm/standin.crt', import.meta.url));
const KEY = readFileSync(new URL('./fcm/standin.key', import.meta.url));
const ACCESS_TOKEN = 'stand-in-access-token';

export interface PushRequest {
  token: string;
  message: {
    token: string;
    notification?: { title?: string; body?: string };
    data?: Record<string, unknown>;
    android?: { priority?: string; notification?: { tag?: string } };
    apns?: { headers?: Record<string, string>; payload?: { aps?: Record<string, unknown> } };
  };
}

/** Routes every connection to the stand-in; TLS is still checked against fcm.googleapis.com. */
class LoopbackAgent extends Agent {
  constructor(private readonly port: number) {
    super({ ca: CERT, keepAlive: true });
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void) {
    return super.createConnection({ ...options, host: '127.0.0.1', port: this.port }, callback);
  }
}

/** A credential with a fixed token: the OAuth exchange is Google's, not the code under test. */
class StaticCredential implements Credential {
  async getAccessToken() {
    return { access_token: ACCESS_TOKEN, expires_in: 3600 };
  }
}

/** FCM's transient errors: 503 (firebase-admin retries it itself), 500 and 429 (left to the caller). */
const transientErrors = {
  UNAVAILABLE: [503, 'UNAVAILABLE', 'The service is currently unavailable.'],
  INTERNAL: [500, 'INTERNAL', 'Internal error encountered.'],
  QUOTA_EXCEEDED: [429, 'RESOURCE_EXHAUSTED', 'Message rate exceeded for this device.'],
} as const;
type TransientError = keyof typeof transientErrors;

/** Options pointing firebase-admin at a stand-in listening on `port` (also from another process). */
export function standInOptions(port: number, projectId: string): FcmOptions {
  return { credential: new StaticCredential(), projectId, httpAgent: new LoopbackAgent(port) };
}

const fcmError = (status: number, grpcStatus: string, errorCode: string, message: string) => ({
  status,
  body: {
    error: {
      code: status,
      message,
      status: grpcStatus,
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }],
    },
  },
});

export class FcmStandIn {
  /** Every accepted push, in arrival order. */
  readonly delivered: PushRequest[] = [];
  /** Every request that reached the endpoint, accepted or not. */
  readonly received: PushRequest[] = [];
  /** Tokens FCM no longer knows (the app was uninstalled): 404 UNREGISTERED. */
  readonly unregistered = new Set<string>();
  /** Tokens that are not FCM tokens at all: 400 INVALID_ARGUMENT. */
  readonly malformed = new Set<string>();
  /** Token -> how many more requests for it fail, and how, before it works. */
  readonly failing = new Map<string, { times: number; error: TransientError }>();
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly projectId: string,
  ) {}

  static async start(projectId = 'chat-test'): Promise<FcmStandIn> {
    let standIn: FcmStandIn;
    const server = createServer({ key: KEY, cert: CERT }, (req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const { status, body: answer } = standIn.answer(req.method, req.url, req.headers.authorization, body);
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(answer));
        standIn.wake();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    standIn = new FcmStandIn(server, projectId);
    return standIn;
  }

  /** What the server under test is configured with instead of production credentials. */
  options(): FcmOptions {
    return standInOptions((this.server.address() as AddressInfo).port, this.projectId);
  }

  /** What a server in a child process needs to build the same options (see standInOptions). */
  get address(): { port: number; projectId: string } {
    return { port: (this.server.address() as AddressInfo).port, projectId: this.projectId };
  }

  deliveredTo(token: string): PushRequest[] {
    return this.delivered.filter((p) => p.token === token);
  }

  /** Waits until `predicate` holds. */
  async until(predicate: () => boolean): Promise<void> {
    const deadline = Date.now() + GIVE_UP_AFTER_MS;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`FCM stand-in: gave up waiting for ${predicate}; delivered so far: ${JSON.stringify(this.delivered).slice(0, 1500)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private answer(method: string | undefined, url: string | undefined, authorization: string | undefined, body: string) {
    if (method !== 'POST' || url !== `/v1/projects/${this.projectId}/messages:send`) {
      return fcmError(404, 'NOT_FOUND', 'UNSPECIFIED_ERROR', `no such endpoint: ${method} ${url}`);
    }
    if (authorization !== `Bearer ${ACCESS_TOKEN}`) {
      return fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR', 'Request had invalid authentication credentials.');
    }
    const { message } = JSON.parse(body) as { message: PushRequest['message'] };
    const request = { token: message.token, message };
    this.received.push(request);
    // FCM refuses non-string data values and over-long APNs collapse ids.
    const data = Object.values(message.data ?? {});
    const collapseId = message.apns?.headers?.['apns-collapse-id'] ?? '';
    if (data.some((v) => typeof v !== 'string') || Buffer.byteLength(collapseId) > 64) {
      return {
        status: 400,
        body: {
          error: {
            code: 400,
            message: 'Invalid JSON payload received.',
            status: 'INVALID_ARGUMENT',
            details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'message' }] }],
          },
        },
      };
    }
    if (this.unregistered.has(message.token)) return fcmError(404, 'NOT_FOUND', 'UNREGISTERED', 'Requested entity was not found.');
    if (this.malformed.has(message.token)) {
      return fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token');
    }
    const failure = this.failing.get(message.token);
    if (failure && failure.times > 0) {
      failure.times--;
      const [status, grpcStatus, text] = transientErrors[failure.error];
      return fcmError(status, grpcStatus, failure.error, text);
    }
    this.delivered.push(request);
    return { status: 200, body: { name: `projects/${this.projectId}/messages/${this.delivered.length}` } };
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
