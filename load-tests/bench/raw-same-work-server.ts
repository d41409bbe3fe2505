/**
 * Informational reference for `bench http`: raw node:http doing by hand the work the gateway's
 * contract requires of every response to this request — read and JSON.parse the body, the nine
 * security headers and a request id, a generated id, a JSON answer — with no framework, no
 * validation library, no logging and no metrics. The gap between this row and the hello baseline
 * is the cost of the mandated work itself; the gap between it and the gateway is ours.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { listenForBench } from './listen-child.ts';

const SECURITY = {
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'cross-origin-resource-policy': 'same-origin',
} as const;

interface Echo {
  kind: string;
  priority: number;
  tags: unknown[];
  flags: { urgent: boolean };
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const b = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Echo;
    const body = JSON.stringify({ id: randomUUID(), kind: b.kind, priority: b.priority, tagCount: b.tags.length, urgent: b.flags.urgent });
    res.writeHead(200, { ...SECURITY, 'x-request-id': randomUUID(), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
listenForBench(server);
