/**
 * Client address and scheme, with or without a trusted TLS-terminating proxy in front.
 *
 * Without TRUST_PROXY, forwarded headers are ignored entirely (any client can send them) and the
 * client address is the socket peer. With TRUST_PROXY we assume exactly one trusted hop — the
 * proxy that connects to us — which appends the address it saw to X-Forwarded-For. So the
 * client is the RIGHTMOST X-Forwarded-For entry; entries to its left were supplied by the client
 * and are never believed. Likewise the rightmost X-Forwarded-Proto value is the proxy's.
 * Deployments with a chain of proxies must have the outermost one overwrite these headers.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Context } from 'hono';
import { AppError } from '../../core/errors.ts';
import { nodeIncoming, requestHeader } from '../app-env.ts';
import { GatewayErrorCode } from './error-codes.ts';

/** Paths the proxy itself probes over plain HTTP; exempt from the HTTPS requirement. */
const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

const UNKNOWN_ADDRESS = 'unknown';

function rightmost(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const comma = header.lastIndexOf(',');
  const value = (comma === -1 ? header : header.slice(comma + 1)).trim();
  return value === '' ? undefined : value;
}

/** The address to attribute this request to (audit records, rate limits). Never a label or a URL. */
export function clientAddress(c: Context, trustProxy: boolean): string {
  const incoming = nodeIncoming(c);
  if (incoming !== undefined) return addressOf(incoming, trustProxy);
  if (!trustProxy) return UNKNOWN_ADDRESS;
  const forwarded = rightmost(requestHeader(c, 'x-forwarded-for'));
  return forwarded !== undefined && isIP(forwarded) !== 0 ? forwarded : UNKNOWN_ADDRESS;
}

/** The same for a raw Node request (WebSocket upgrades). */
export function addressOf(req: IncomingMessage, trustProxy: boolean): string {
  const peer = req.socket.remoteAddress ?? UNKNOWN_ADDRESS;
  if (!trustProxy) return peer;
  const header = req.headers['x-forwarded-for'];
  const forwarded = rightmost(Array.isArray(header) ? header.join(', ') : header);
  return forwarded !== undefined && isIP(forwarded) !== 0 ? forwarded : peer;
}

/** With TRUST_PROXY: refuse requests the proxy received over plain HTTP (403 https_required). */
export function assertHttps(c: Context): void {
  const proto = rightmost(requestHeader(c, 'x-forwarded-proto'));
  if (proto !== undefined && proto.toLowerCase() === 'http' && !PROBE_PATHS.has(c.req.path)) {
    throw new AppError(403, GatewayErrorCode.httpsRequired, 'HTTPS is required');
  }
}
