/**
 * The one gateway-wide middleware, outermost: everything that must happen for every request,
 * whatever answers it (route, validation failure, 404, onError). Assigns the request id, binds
 * a (lazy) child logger, resolves the client address, stamps the security headers and
 * X-Request-Id, refuses plain HTTP behind a trusted proxy, applies the body rules; afterwards
 * records metrics and writes the one access-log line: request id, method, ROUTE PATTERN, status,
 * duration — never the URL, query string, headers or body.
 *
 * These steps run inline in one middleware rather than as a chain of them: each Hono middleware
 * costs an async dispatch per request, and this path runs on every request.
 *
 * The access line is written through a child with redaction switched off. Every field on it is
 * server-chosen or validated (request id pattern, method label, route pattern, status,
 * duration), so there is nothing to redact, and core/log's wildcard redaction costs ~55 µs per
 * line, several times a whole raw request. Everything else logs through the redacting logger.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { ErrorCode } from '../../core/errors.ts';
import type { Logger } from '../../core/log/logger.ts';
import { nodeOutgoing, requestHeader, type AppEnv } from '../app-env.ts';
import { createBodyGuard } from './body-guard.ts';
import { errorResponse } from './error-response.ts';
import { assertHttps, clientAddress } from './forwarded.ts';
import { lazyChild } from './lazy-logger.ts';
import { methodLabel, type HttpMetrics } from './metrics.ts';
import { handleError } from './on-error.ts';
import { REQUEST_ID_HEADER, acceptRequestId } from './request-id.ts';
import { routePattern } from './route-pattern.ts';
import { addSecurityHeaders, setSecurityHeaders } from './security-headers.ts';

export interface RequestFrameDeps {
  readonly log: Logger;
  readonly metrics: HttpMetrics;
  readonly trustProxy: boolean;
  readonly bodyLimitBytes: number;
}

function failed(c: Context<AppEnv>, err: unknown): Response {
  if (err instanceof Error) return handleError(err, c);
  c.get('log').error({ thrown: typeof err }, 'non-Error thrown');
  return errorResponse(c, 500, ErrorCode.internal, 'Internal server error');
}

export function requestFrame(deps: RequestFrameDeps): MiddlewareHandler<AppEnv> {
  const { log, metrics, trustProxy } = deps;
  const accessLog = log.child({}, { redact: [] });
  const guardBody = createBodyGuard(deps.bodyLimitBytes);

  return async function requestFrame(c, next) {
    const started = performance.now();
    const requestId = acceptRequestId(requestHeader(c, REQUEST_ID_HEADER));
    c.set('requestId', requestId);
    c.set('log', lazyChild(log, { requestId }));
    c.set('clientIp', clientAddress(c, trustProxy));
    const outgoing = nodeOutgoing(c);
    if (outgoing !== undefined) setSecurityHeaders(outgoing, requestId);

    try {
      if (trustProxy) assertHttps(c);
      await guardBody(c, next);
    } catch (err) {
      // Our own checks throw here; Hono has already turned errors from routes into responses.
      c.res = failed(c, err);
    }

    const res = c.res;
    if (outgoing === undefined) addSecurityHeaders(res.headers, requestId);
    const method = methodLabel(c.req.method);
    const route = routePattern(c);
    const status = res.status;
    const elapsed = performance.now() - started;
    metrics.observe(method, route, status, elapsed / 1000);
    accessLog.info({ requestId, method, route, status, durationMs: Math.round(elapsed * 1000) / 1000 }, 'request');
  };
}
