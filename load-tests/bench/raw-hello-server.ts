/**
 * Baseline for the http bench: the least a Node HTTP server can do per request — read the body,
 * answer a fixed JSON hello. No framework, no validation, no logging. Prints its port on stdout
 * when listening; exits on SIGTERM/SIGINT.
 */
import { createServer } from 'node:http';
import { listenForBench } from './listen-child.ts';

const HELLO = Buffer.from('{"hello":"world"}');
const HEADERS = { 'content-type': 'application/json', 'content-length': String(HELLO.length) };

const server = createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, HEADERS);
    res.end(HELLO);
  });
});
listenForBench(server);
