/**
 * The one gateway-wide middleware, outermost: everything that must happen for every request,
 * whatever answers it (route, validation failure, 404, onError). Assigns the request id, binds
 * a (lazy) child logger, resolves the client address, refuses plain HTTP behind a trusted proxy,
 * applies the body rules, sees that the security headers and X-Request-Id go out, and records
 * the metrics and the one access-log line: request id, method, ROUTE PATTERN, status, duration —
 * never the URL, query string, headers or body.
 *
 * Performance notes (the http bench runs this on every request):
 * - the steps run inline in one middleware, not as a chain: each Hono middleware costs an async
 *   dispatch per request;
 * - on our own server the headers are written by SecureResponse in writeHead; elsewhere
 *   (app.request() in tests) they are added to the Response;
 * - metrics and the access line are batched and written right after the response (telemetry.ts);
 * - the access line carries only server-chosen or validated fields (request id pattern, method
 *   label, route pattern, status, duration) and goes through the same redacting logger as
 *   everything else (core/log scrubs in one pass, ~2 µs a line).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { ErrorCode } from '../../core/errors.ts';
import type { Logger } from '../../core/log/logger.ts';
import { nodeOutgoing, requestHeader, type AppEnv } from '../app-env.ts';
import { createBodyGuard, type BodyLimitOverride } from './body-guard.ts';
import { errorResponse } from './error-response.ts';
import { assertHttps, clientAddress } from './forwarded.ts';
import { lazyChild } from './lazy-logger.ts';
import { methodLabel, type HttpMetrics } from './metrics.ts';
import { handleError } from './on-error.ts';
import { REQUEST_ID_HEADER, acceptRequestId } from './request-id.ts';
import { routePattern } from './route-pattern.ts';
import { SecureResponse } from './secure-response.ts';
import { addSecurityHeaders } from './security-headers.ts';
import { createRequestTelemetry } from './telemetry.ts';

export interface RequestFrameDeps {
  readonly log: Logger;
  readonly metrics: HttpMetrics;
  readonly trustProxy: boolean;
  readonly bodyLimitBytes: number;
  /** Larger limits for specific path prefixes (encrypted attachment uploads); the first match wins. */
  readonly bodyLimitOverrides?: readonly BodyLimitOverride[];
}

function failed(c: Context<AppEnv>, err: unknown): Response {
  if (err instanceof Error) return handleError(err, c);
  c.get('log').error({ thrown: typeof err }, 'non-Error thrown');
  return errorResponse(c, 500, ErrorCode.internal, 'Internal server error');
}

export function requestFrame(deps: RequestFrameDeps): MiddlewareHandler<AppEnv> {
  const { log, metrics, trustProxy } = deps;
  const telemetry = createRequestTelemetry(log, metrics);
  const guardBody = createBodyGuard(deps.bodyLimitBytes, deps.bodyLimitOverrides);

  return async function requestFrame(c, next) {
    const started = performance.now();
    const requestId = acceptRequestId(requestHeader(c, REQUEST_ID_HEADER));
    c.set('requestId', requestId);
    c.set('log', lazyChild(log, { requestId }));
    c.set('clientIp', clientAddress(c, trustProxy));
    const outgoing = nodeOutgoing(c);
    const secure = outgoing instanceof SecureResponse;
    if (secure) outgoing.requestId = requestId;

    try {
      if (trustProxy) assertHttps(c);
      await guardBody(c, next);
    } catch (err) {
      // Our own checks throw here; Hono has already turned errors from routes into responses.
      c.res = failed(c, err);
    }

    const res = c.res;
    if (!secure) addSecurityHeaders(res.headers, requestId);
    telemetry.record({
      requestId,
      method: methodLabel(c.req.method),
      route: routePattern(c),
      status: res.status,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
    });
  };
}
