/**
 * Baseline for the relay bench: a raw `ws` echo server — every frame goes straight back to its
 * sender. No authentication, storage, audit or fan-out. Prints its port on stdout when
 * listening; exits on SIGTERM/SIGINT.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { listenForBench } from './listen-child.ts';

const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
listenForBench(server);
