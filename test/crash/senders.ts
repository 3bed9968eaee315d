import WebSocket from 'ws';
import { z } from 'zod';

export interface Outgoing {
  conversationId: string;
  clientMsgId: string;
  text: string;
}

export interface Ack {
  messageId: string;
  seq: number;
}

/** One way of sending a message: resolves with the server's ack, rejects when none came. */
export interface Sender {
  send(message: Outgoing): Promise<Ack>;
  close(): void;
}

const ackBody = z.object({ messageId: z.string(), seq: z.number().int().nonnegative() });
const serverFrame = z.object({ type: z.string(), ref: z.string().optional(), code: z.string().optional() }).passthrough();

/** POST /v1/conversations/:id/messages; a network error or a non-2xx answer is "not acked". */
export class RestSender implements Sender {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async send(m: Outgoing): Promise<Ack> {
    const res = await fetch(`${this.baseUrl}/v1/conversations/${m.conversationId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ clientMsgId: m.clientMsgId, text: m.text }),
      signal: AbortSignal.timeout(10_000),
    });
    const body: unknown = await res.json();
    if (res.status !== 200 && res.status !== 201) throw new Error(`send answered ${res.status}: ${JSON.stringify(body)}`);
    return ackBody.parse(body);
  }

  close(): void {}
}

interface PendingSend {
  resolve(ack: Ack): void;
  reject(error: Error): void;
}

/**
 * `send` frames over one socket, reconnecting on demand. Every send in flight when the socket
 * drops is rejected: the caller retries it with the same clientMsgId.
 */
export class WsSender implements Sender {
  private socket: Promise<WebSocket> | null = null;
  private readonly pending = new Map<string, PendingSend>();
  private refs = 0;

  constructor(
    private readonly wsUrl: string,
    private readonly token: string,
  ) {}

  async send(m: Outgoing): Promise<Ack> {
    const socket = await this.open();
    const ref = `r${++this.refs}`;
    const acked = new Promise<Ack>((resolve, reject) => this.pending.set(ref, { resolve, reject }));
    socket.send(JSON.stringify({ type: 'send', ref, ...m }));
    return acked;
  }

  close(): void {
    void this.socket?.then((s) => s.terminate(), () => undefined);
    this.socket = null;
  }

  private open(): Promise<WebSocket> {
    this.socket ??= new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(`${this.wsUrl}?token=${encodeURIComponent(this.token)}`);
      socket.once('open', () => resolve(socket));
      socket.once('error', (err) => reject(err));
      socket.on('message', (data) => this.onFrame(data.toString()));
      socket.once('close', () => {
        this.socket = null;
        const error = new Error('socket closed');
        for (const p of this.pending.values()) p.reject(error);
        this.pending.clear();
      });
    }).catch((err: unknown) => {
      this.socket = null;
      throw err;
    });
    return this.socket;
  }

  private onFrame(text: string): void {
    const frame = serverFrame.parse(JSON.parse(text));
    const pending = frame.ref ? this.pending.get(frame.ref) : undefined;
    if (!pending || !frame.ref) return;
    this.pending.delete(frame.ref);
    if (frame.type === 'ack') pending.resolve(ackBody.parse(frame));
    else pending.reject(new Error(`send refused: ${frame.code}`));
  }
}
