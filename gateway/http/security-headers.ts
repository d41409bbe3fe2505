/**
 * Response headers every gateway response carries: HSTS, no caching (any response may carry
 * PHI), no referrer, no framing, no sniffing, same-origin resources only, and the strictest CSP
 * for API responses (JSON is never rendered). A handler that serves a page (the docs) sets its
 * own CSP, which wins. Nothing adds X-Powered-By.
 */
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
];

/**
 * When the response is not a SecureResponse (app.request() in tests, another server): the same
 * headers on the Response itself. Headers the handler set win.
 */
export function addSecurityHeaders(headers: Headers, requestId: string): void {
  for (const [name, value] of SECURITY_HEADERS) if (!headers.has(name)) headers.set(name, value);
  headers.set('x-request-id', requestId);
}
