import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { GIVE_UP_AFTER_MS } from './waits.js';

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A thin HTTP client over fetch, as an app would use the API. */
export class ApiClient {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, path: string, options: { token?: string; body?: unknown; raw?: string } = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const res = await fetch(this.baseUrl + path, {
      method,
      headers,
      body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  /** Registers a fresh user and logs in. */
  async user(name = 'u'): Promise<{ userId: string; token: string; username: string }> {
    const username = `${name}_${randomUUID().slice(0, 8)}`;
    const reg = await this.request('POST', '/v1/users', { body: { username, password: 'correct horse', displayName: name } });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
    const session = await this.request('POST', '/v1/sessions', { body: { username, password: 'correct horse' } });
    return { userId: reg.body.userId, token: session.body.token, username };
  }

  async direct(a: { token: string }, b: { userId: string }): Promise<string> {
    const res = await this.request('POST', '/v1/conversations', { token: a.token, body: { kind: 'direct', memberId: b.userId } });
    return res.body.conversationId;
  }

  async group(owner: { token: string }, members: { userId: string }[], title = 'group'): Promise<string> {
    const res = await this.request('POST', '/v1/conversations', {
      token: owner.token,
      body: { kind: 'group', title, memberIds: members.map((m) => m.userId) },
    });
    if (res.status !== 201) throw new Error(`group: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.conversationId;
  }

  async send(from: { token: string }, conversationId: string, text: string, clientMsgId: string = randomUUID()) {
    return this.request<{ messageId: string; seq: number }>('POST', `/v1/conversations/${conversationId}/messages`, {
      token: from.token,
      body: { clientMsgId, text },
    });
  }
}

/** A real WebSocket client that records every frame it receives. */
export class WsClient {
  readonly frames: any[] = [];
  private waiters: (() => void)[] = [];
  closeCode: number | null = null;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      this.wake();
    });
    socket.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  static connect(url: string, token: string, options: WebSocket.ClientOptions = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${url}?token=${encodeURIComponent(token)}`, options);
      const client = new WsClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Waits until `predicate` holds over the frames received so far; `what` names it if it never does. */
  async until<T>(predicate: (frames: any[]) => T | undefined | false, what: string = String(predicate)): Promise<T> {
    const deadline = Date.now() + GIVE_UP_AFTER_MS;
    for (;;) {
      const result = predicate(this.frames);
      if (result) return result;
      if (Date.now() > deadline) {
        throw new Error(`gave up waiting for ${what}; frames so far: ${JSON.stringify(this.frames).slice(0, 2000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The first frame matching `match` (waiting for it). */
  next(match: (f: any) => boolean): Promise<any> {
    return this.until((frames) => frames.find(match), `a frame where ${match}`);
  }

  /**
   * A ping answered by a pong. Frames on one socket arrive in the order the server wrote them, so
   * whatever the server sent this socket before it handled the ping has arrived by then. A socket
   * the server closed meanwhile has nothing more to say either.
   */
  async fence(): Promise<void> {
    const ref = `fence-${randomUUID()}`;
    this.send({ type: 'ping', ref });
    await this.until((frames) => this.closeCode !== null || frames.some((f) => f.ref === ref), `the pong to ${ref}`);
  }

  events(conversationId?: string): any[] {
    return this.frames.filter((f) => f.type === 'event' && (!conversationId || f.conversationId === conversationId));
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}
