/**
 * The single place errors become responses. AppError → its status and code. The HTTPExceptions
 * Hono and @hono/zod-openapi throw (malformed JSON, unsupported media type, body limit) → their
 * documented codes with fixed messages. Anything else is logged with its cause chain (never the
 * request body) and answered with a bare 500 that reveals nothing but the request id.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { AppEnv } from '../app-env.ts';
import { errorResponse } from './error-response.ts';
import { routePattern } from './route-pattern.ts';

/** Hono's validator throws this exact message when `c.req.json()` fails to parse. */
const HONO_MALFORMED_JSON = 'Malformed JSON in request body';

const BY_STATUS: Readonly<Record<number, readonly [ErrorCode, string]>> = {
  400: [ErrorCode.badRequest, 'Bad request'],
  401: [ErrorCode.unauthorized, 'Authentication required'],
  403: [ErrorCode.forbidden, 'Forbidden'],
  404: [ErrorCode.notFound, 'Not found'],
  405: [ErrorCode.methodNotAllowed, 'Method not allowed'],
  409: [ErrorCode.conflict, 'Conflict'],
  413: [ErrorCode.payloadTooLarge, 'Request body too large'],
  415: [ErrorCode.unsupportedMediaType, 'Unsupported Content-Type for this operation'],
  429: [ErrorCode.rateLimited, 'Too many requests'],
};

/** A refused body: close the connection after answering, so Node does not read (drain) the rest of it. */
const CLOSE_AFTER = new Set([413]);

export function handleError(err: Error, c: Context<AppEnv>): Response {
  const status = err instanceof AppError || err instanceof HTTPException ? err.status : 500;
  if (CLOSE_AFTER.has(status)) c.header('Connection', 'close');
  if (err instanceof AppError && err.retryAfterSec !== undefined) c.header('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterSec))));
  if (err instanceof AppError && err.status < 500) return errorResponse(c, err.status, err.code, err.message, err.fields, err.extra);
  if (err instanceof AppError && err.status > 500) {
    // 502/503/504 tell the client to retry; their messages are written for clients (AppError contract).
    logError(c, err, 'dependency failure');
    return errorResponse(c, err.status, err.code, err.message);
  }
  if (err instanceof HTTPException && err.status < 500) {
    if (err.status === 400 && err.message === HONO_MALFORMED_JSON) {
      return errorResponse(c, 400, ErrorCode.malformedJson, 'Request body is not valid JSON');
    }
    const [code, message] = BY_STATUS[err.status] ?? [ErrorCode.badRequest, 'Bad request'];
    return errorResponse(c, err.status, code, message);
  }
  logError(c, err, 'unhandled error');
  return errorResponse(c, 500, ErrorCode.internal, 'Internal server error');
}

/** Unknown routes. (A known path with another method also lands here: Hono does not tell them apart.) */
export function handleNotFound(c: Context<AppEnv>): Response {
  return errorResponse(c, 404, ErrorCode.notFound, 'Not found');
}

function logError(c: Context<AppEnv>, err: Error, msg: string): void {
  // The request-bound logger: the line carries the request id the client was given.
  c.get('log').error({ err, method: c.req.method, route: routePattern(c) }, msg);
}
