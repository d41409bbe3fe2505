/**
 * The gateway's Hono app class. Identical to OpenAPIHono for route authors — `app.openapi(
 * createRoute({...}), handler)`, typed `c.req.valid(...)`, routes in the generated document —
 * but the common route shape (path and query parameters, a required JSON body) is validated by
 * one step compiled once at registration instead of the library's chain of middlewares:
 *
 * - the zod schemas are AOT-compiled with `z.compile` (invalid input falls back to zod's runtime
 *   parser, so error messages are zod's own);
 * - validation runs inside the route's single handler, not as 2–4 extra async middlewares;
 * - headers are read from Node's parsed headers, without building a WHATWG Headers object.
 *
 * The semantics match the library with our defaultHook: 415 for a missing or non-JSON
 * Content-Type, 400 `malformed_json`, 400 `validation_failed` with fields. Any other shape
 * (header or cookie schemas, form bodies, optional bodies, several media types, a per-route
 * hook) goes through the library's own implementation unchanged.
 */
import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler, Next } from 'hono';
import { z, type ZodType } from 'zod';
import { AppError, ErrorCode, type FieldError } from '../../core/errors.ts';
import { nodeIncoming, requestHeader, type AppEnv } from '../app-env.ts';
import { fieldErrors, validationHook } from './validation-hook.ts';

type Ctx = Context<AppEnv, string>;
type Part = 'param' | 'query' | 'json';
type Handler = (c: Ctx, next: Next) => unknown;

/** Same acceptance as @hono/zod-openapi's JSON media-type gate. */
const JSON_CONTENT_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

const isZod = (x: unknown): x is ZodType =>
  typeof x === 'object' && x !== null && typeof (x as { safeParse?: unknown }).safeParse === 'function';

/** Parse synchronously when the schema allows it (almost always), else asynchronously. */
function parse(schema: ZodType, value: unknown): z.ZodSafeParseResult<unknown> | Promise<z.ZodSafeParseResult<unknown>> {
  try {
    return schema.safeParse(value);
  } catch (err) {
    if (err instanceof z.core.$ZodAsyncError) return schema.safeParseAsync(value);
    throw err;
  }
}

function validationError(fields: FieldError[]): AppError {
  return new AppError(400, ErrorCode.validation, 'Request validation failed', { fields });
}

function accept(c: Ctx, part: Part, result: z.ZodSafeParseResult<unknown>): void {
  if (!result.success) throw validationError(fieldErrors(part, result.error));
  c.req.addValidatedData(part, result.data as object);
}

function queryObject(c: Ctx): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, values] of Object.entries(c.req.queries())) out[key] = values.length === 1 ? (values[0] ?? '') : values;
  return out;
}

interface Plan {
  readonly params: ZodType | undefined;
  readonly query: ZodType | undefined;
  readonly json: ZodType | undefined;
}

/** The compiled plan for a route, or undefined when the route needs the library's general path. */
function planFor(route: RouteConfig): Plan | undefined {
  const request = route.request;
  if (request === undefined) return { params: undefined, query: undefined, json: undefined };
  if (request.headers !== undefined || request.cookies !== undefined) return undefined;
  if (request.params !== undefined && !isZod(request.params)) return undefined;
  if (request.query !== undefined && !isZod(request.query)) return undefined;
  let json: ZodType | undefined;
  if (request.body !== undefined) {
    const entries = Object.entries(request.body.content);
    const [only] = entries;
    if (entries.length !== 1 || only === undefined || request.body.required !== true) return undefined;
    const [mediaType, media] = only;
    const schema = media !== undefined && 'schema' in media ? media.schema : undefined;
    if (mediaType !== 'application/json' || !isZod(schema)) return undefined;
    json = z.compile(schema);
  }
  return {
    params: request.params === undefined ? undefined : z.compile(request.params),
    query: request.query === undefined ? undefined : z.compile(request.query),
    json,
  };
}

/**
 * Validates path and query parameters together, so one answer lists every problem in the URL.
 * Synchronous unless a schema is async.
 */
function urlCheck(plan: Plan): ((c: Ctx) => Promise<void> | undefined) | undefined {
  const { params, query } = plan;
  if (params === undefined && query === undefined) return undefined;
  const settle = (c: Ctx, p: z.ZodSafeParseResult<unknown> | undefined, q: z.ZodSafeParseResult<unknown> | undefined): void => {
    if ((p === undefined || p.success) && (q === undefined || q.success)) {
      if (p !== undefined) accept(c, 'param', p);
      if (q !== undefined) accept(c, 'query', q);
      return;
    }
    const fields = [...(p?.success === false ? fieldErrors('param', p.error) : []), ...(q?.success === false ? fieldErrors('query', q.error) : [])];
    throw validationError(fields);
  };
  return (c) => {
    const p = params === undefined ? undefined : parse(params, c.req.param());
    const q = query === undefined ? undefined : parse(query, queryObject(c));
    if (p instanceof Promise || q instanceof Promise) return Promise.all([p, q]).then(([pr, qr]) => settle(c, pr, qr));
    settle(c, p, q);
    return undefined;
  };
}

/**
 * Served by @hono/node-server with a Content-Length body nobody has read yet, read it straight
 * from the IncomingMessage into Hono's body cache. The default path converts the Node stream into
 * a Web ReadableStream per request, which cost the http bench ~40% of its throughput. The size
 * is already bounded: the body guard compared Content-Length with the limit, and Node's parser
 * never delivers more than Content-Length. Chunked bodies keep the limiter's path.
 */
function primeBodyFromNode(c: Ctx): Promise<string> | undefined {
  const incoming = nodeIncoming(c);
  if (incoming === undefined || incoming.readableDidRead || c.req.bodyCache.text !== undefined) return undefined;
  if (requestHeader(c, 'transfer-encoding') !== undefined) return undefined;
  const text = new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.once('end', () => resolve(chunks.length === 1 && chunks[0] ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    incoming.once('error', reject);
  });
  // Hono types the cache by body value, but stores (and reads) promises of them.
  Object.assign(c.req.bodyCache, { text });
  return text;
}

/** Reads, parses and validates the JSON body: 415, 400 malformed_json or 400 validation_failed. */
async function readJson(c: Ctx, schema: ZodType): Promise<void> {
  const contentType = requestHeader(c, 'content-type');
  if (contentType === undefined || !JSON_CONTENT_TYPE.test(contentType)) {
    throw new AppError(415, ErrorCode.unsupportedMediaType, 'Content-Type must be application/json');
  }
  const primed = primeBodyFromNode(c);
  let body: unknown;
  try {
    body = primed === undefined ? await c.req.json() : JSON.parse(await primed);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError(400, ErrorCode.malformedJson, 'Request body is not valid JSON', { cause: err });
  }
  const result = parse(schema, body);
  accept(c, 'json', result instanceof Promise ? await result : result);
}

/** The route's single handler: validate, then run the author's handler. */
function fuse(plan: Plan, handler: Handler): Handler {
  const checkUrl = urlCheck(plan);
  const json = plan.json;
  if (json === undefined) {
    if (checkUrl === undefined) return handler;
    return (c, next) => {
      const pending = checkUrl(c);
      return pending === undefined ? handler(c, next) : pending.then(() => handler(c, next));
    };
  }
  return async (c, next) => {
    if (checkUrl !== undefined) await checkUrl(c);
    await readJson(c, json);
    return handler(c, next);
  };
}

export class GatewayHono extends OpenAPIHono<AppEnv> {
  constructor() {
    super({ defaultHook: validationHook });
    const general = this.openapi;
    const on = this.on as unknown as (method: string, path: string, ...handlers: Handler[]) => unknown;
    const lean = (route: RouteConfig & { middleware?: MiddlewareHandler | MiddlewareHandler[]; hide?: boolean }, handler: Handler, hook?: unknown) => {
      const plan = hook === undefined ? planFor(route) : undefined;
      if (plan === undefined) return general(route, handler as never, hook as never);
      const { middleware, hide, ...definition } = route;
      if (hide !== true) this.openAPIRegistry.registerPath(definition);
      const before: Handler[] = middleware === undefined ? [] : Array.isArray(middleware) ? middleware : [middleware];
      on(definition.method, definition.path.replaceAll(/\/{(.+?)}/g, '/:$1'), ...before, fuse(plan, handler));
      return this;
    };
    this.openapi = lean;
  }
}
