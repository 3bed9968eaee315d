import WebSocket from 'ws';
import { params, report, waitForCommand } from '../lib/child.js';

/**
 * A determined flooder: sends read markers that move nothing (each costs the server a full
 * decision, none appends) as fast as its socket takes them, and reconnects at once whenever the
 * server closes it. Reports `flooding` once connected, `closed` each time the server closes it,
 * and on "stop" the frames it sent and how often it was closed.
 */
interface Params {
  wsUrl: string;
  token: string;
  conversationId: string;
}

const p = params<Params>();
/** Frames buffered in the socket beyond this wait: the flood is as fast as the server reads. */
const MAX_BUFFERED_BYTES = 1 << 20;
const BURST = 100;
let sent = 0;
let closes = 0;

function connect(): void {
  const ws = new WebSocket(`${p.wsUrl}?token=${encodeURIComponent(p.token)}`, { perMessageDeflate: false });
  ws.on('open', () => {
    if (sent === 0) void report('flooding');
    const burst = () => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (ws.bufferedAmount < MAX_BUFFERED_BYTES) {
        for (let i = 0; i < BURST; i++, sent++) ws.send(JSON.stringify({ type: 'read', ref: `f${sent}`, conversationId: p.conversationId, upToSeq: 0 }));
      }
      setImmediate(burst);
    };
    burst();
  });
  ws.on('error', () => {});
  ws.on('close', (code) => {
    closes++;
    void report('closed', { code });
    connect();
  });
}

connect();
await waitForCommand('stop');
await report('result', { sent, closes });
process.exit(0);
