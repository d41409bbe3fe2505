/**
 * Request body rules applied before any route: at most BODY_LIMIT_BYTES (413
 * `payload_too_large`), and a body must say what it is (415 `unsupported_media_type` without a
 * Content-Type). With a Content-Length the check is a header comparison (Node's parser already
 * refuses a body longer than its Content-Length); chunked bodies go through hono/body-limit,
 * which counts bytes as they stream, stops reading at the limit, and hands the route the
 * buffered body.
 */
import type { Context, Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { nodeIncoming, requestHeader, type AppEnv } from '../app-env.ts';

function tooLarge(limit: number): AppError {
  return new AppError(413, ErrorCode.payloadTooLarge, `Request body exceeds ${limit} bytes`);
}

const missingContentType = (): AppError => new AppError(415, ErrorCode.unsupportedMediaType, 'A request body needs a Content-Type header');

/**
 * Returns `(c, next)`: checks the body, then continues the chain (through the streaming limiter
 * when chunked). Not async: the common cases hand back next()'s own promise, one hop fewer on
 * every request.
 */
export function createBodyGuard(limit: number): (c: Context<AppEnv, string>, next: Next) => Promise<void> {
  const streaming = bodyLimit({
    maxSize: limit,
    onError: () => {
      throw tooLarge(limit);
    },
  });
  const checkStreaming = async (c: Context<AppEnv, string>, next: Next): Promise<void> => {
    if (requestHeader(c, 'content-type') === undefined && c.req.raw.body !== null) throw missingContentType();
    await streaming(c, next);
  };
  return function bodyGuard(c, next) {
    const length = requestHeader(c, 'content-length');
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') {
      // The adapter never reads their bodies, but Node drains them: refuse a declared flood.
      if (length !== undefined && !(Number(length) <= limit)) throw tooLarge(limit);
      return next();
    }
    const chunked = requestHeader(c, 'transfer-encoding') !== undefined;
    if (length !== undefined && !chunked) {
      const bytes = Number(length);
      if (!(bytes <= limit)) throw tooLarge(limit);
      if (bytes > 0 && requestHeader(c, 'content-type') === undefined) throw missingContentType();
      return next();
    }
    // HTTP/1.1 framing: no Content-Length and no Transfer-Encoding means no body at all.
    if (!chunked && nodeIncoming(c)?.httpVersionMajor === 1) return next();
    return checkStreaming(c, next);
  };
}
