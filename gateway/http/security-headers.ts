/**
 * Response headers every gateway response carries: HSTS, no caching (any response may carry
 * PHI), no referrer, no framing, no sniffing, same-origin resource and opener policies, and the
 * strictest CSP for API responses (JSON is never rendered). A handler that serves a page (the
 * docs) sets its own CSP, which wins.
 */
import type { ServerResponse } from 'node:http';

/** CSP for API responses: nothing may load, nothing may frame us. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['strict-transport-security', 'max-age=63072000; includeSubDomains'],
  ['content-security-policy', API_CSP],
  ['cache-control', 'no-store'],
  ['referrer-policy', 'no-referrer'],
  ['x-frame-options', 'DENY'],
  ['x-content-type-options', 'nosniff'],
  ['cross-origin-resource-policy', 'same-origin'],
  ['cross-origin-opener-policy', 'same-origin'],
];

/**
 * Served by Node: set on the ServerResponse before the adapter writes the head. Node merges
 * them with the response's own headers, which take precedence (a page's CSP). Cheaper than
 * rewriting the Response's WHATWG Headers, which the adapter would then convert back.
 */
export function setSecurityHeaders(outgoing: ServerResponse, requestId: string): void {
  for (const [name, value] of SECURITY_HEADERS) outgoing.setHeader(name, value);
  outgoing.setHeader('x-request-id', requestId);
}

/** Without Node (app.request() in tests, other runtimes): the same result on the Response itself. */
export function addSecurityHeaders(headers: Headers, requestId: string): void {
  for (const [name, value] of SECURITY_HEADERS) if (!headers.has(name)) headers.set(name, value);
  headers.set('x-request-id', requestId);
}
