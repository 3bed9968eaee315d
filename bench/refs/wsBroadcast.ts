import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { params, report } from '../lib/child.js';

/**
 * The physical-limit reference for Node on this machine: a bare `ws` server with no auth and no
 * persistence that rebroadcasts each message to every socket of the sender's group (`?group=`),
 * serialised once per message, like the chat gateway.
 */
const { port } = params<{ port: number }>();
const groups = new Map<string, Set<WebSocket>>();
const http = createServer();
const wss = new WebSocketServer({ server: http, perMessageDeflate: false });

wss.on('connection', (ws, req) => {
  const group = new URL(req.url ?? '/', 'http://localhost').searchParams.get('group') ?? '';
  let members = groups.get(group);
  if (!members) groups.set(group, (members = new Set()));
  members.add(ws);
  ws.on('message', (data, isBinary) => {
    for (const peer of members) peer.send(data, { binary: isBinary });
  });
  ws.on('close', () => members.delete(ws));
});

http.listen(port, '127.0.0.1', () => void report('listening', { port }));
