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

/** A larger limit for one path prefix (encrypted attachment uploads, large send batches). */
export interface BodyLimitOverride {
  /** Matches this path and everything below it (`/v1/attachments`, `/v1/attachments/...`). */
  readonly pathPrefix: string;
  readonly limitBytes: number;
}

/**
 * Returns `(c, next)`: checks the body, then continues the chain (through the streaming limiter
 * when chunked). Not async: the common cases hand back next()'s own promise, one hop fewer on
 * every request. `overrides` raise the limit for their paths; the path is looked at only for a
 * body the general limit would refuse, or a chunked one, so ordinary requests pay nothing for them.
 */
export function createBodyGuard(limit: number, overrides: readonly BodyLimitOverride[] = []): (c: Context<AppEnv, string>, next: Next) => Promise<void> {
  const limiter = (max: number) => {
    const streaming = bodyLimit({
      maxSize: max,
      onError: () => {
        throw tooLarge(max);
      },
    });
    return async (c: Context<AppEnv, string>, next: Next): Promise<void> => {
      if (requestHeader(c, 'content-type') === undefined && c.req.raw.body !== null) throw missingContentType();
      await streaming(c, next);
    };
  };
  const general = { limit, streaming: limiter(limit) };
  const special = overrides.map((o) => ({ prefix: o.pathPrefix, below: `${o.pathPrefix}/`, limit: Math.max(limit, o.limitBytes), streaming: limiter(Math.max(limit, o.limitBytes)) }));
  const rulesFor = (c: Context<AppEnv, string>) => {
    const path = c.req.path;
    for (const o of special) if (path === o.prefix || path.startsWith(o.below)) return o;
    return general;
  };
  const declaredWithin = (c: Context<AppEnv, string>, bytes: number): void => {
    if (bytes <= limit) return;
    const max = rulesFor(c).limit;
    if (!(bytes <= max)) throw tooLarge(max);
  };

  return function bodyGuard(c, next) {
    const length = requestHeader(c, 'content-length');
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') {
      // The adapter never reads their bodies, but Node drains them: refuse a declared flood.
      if (length !== undefined) declaredWithin(c, Number(length));
      return next();
    }
    const chunked = requestHeader(c, 'transfer-encoding') !== undefined;
    if (length !== undefined && !chunked) {
      const bytes = Number(length);
      declaredWithin(c, bytes);
      if (bytes > 0 && requestHeader(c, 'content-type') === undefined) throw missingContentType();
      return next();
    }
    // HTTP/1.1 framing: no Content-Length and no Transfer-Encoding means no body at all.
    if (!chunked && nodeIncoming(c)?.httpVersionMajor === 1) return next();
    return rulesFor(c).streaming(c, next);
  };
}
