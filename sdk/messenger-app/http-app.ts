/**
 * The local app's HTTP surface (Hono): the page and its assets, and the JSON API the page drives
 * (bounded, zod-validated bodies; errors as {error:{code,message,fields?}}). Every response is
 * uncacheable, unreferred and unframeable; the page gets a strict CSP (same-origin scripts and
 * styles only, nothing inline); API answers may load nothing. The guard (guard.ts) runs first.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { setCookie } from 'hono/cookie';
import type { z } from 'zod';
import { TOKEN_HEADER, type ErrorBody } from './api.ts';
import type { MessengerCore } from './core.ts';
import { LocalApiError, LocalErrorCode } from './errors.ts';
import type { EventStreams } from './event-stream.ts';
import { sameSecret, type LaunchGuard, type PageSession } from './guard.ts';
import type { PageFiles } from './page-files.ts';
import { tooLarge } from './pending-uploads.ts';
import {
  AttachmentParams,
  EmptyRequest,
  MAX_JSON_BYTES,
  NewConversationRequest,
  PeerParams,
  ReadRequest,
  SendRequest,
  SignInRequest,
  UploadHeaders,
  VerifyRequest,
} from './requests.ts';

export const PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
/** Downloads are never rendered on this origin: no script, no plugins, nothing to load. */
const DOWNLOAD_CSP = "default-src 'none'; sandbox";

const COMMON_HEADERS: readonly (readonly [string, string])[] = [
  ['cache-control', 'no-store'],
  ['referrer-policy', 'no-referrer'],
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'DENY'],
  ['cross-origin-resource-policy', 'same-origin'],
  ['cross-origin-opener-policy', 'same-origin'],
  ['content-security-policy', API_CSP],
];

type Env = { Variables: { page: PageSession } };

export interface HttpAppDeps {
  readonly core: MessengerCore;
  readonly guard: LaunchGuard;
  readonly files: PageFiles;
  readonly streams: EventStreams;
  readonly maxAttachmentBytes: number;
}

const NOT_LAUNCHED = 'Open the link that `telehealth messenger` printed in your terminal. Each link works once; press Enter in that terminal for a new one.';

function errorJson(c: Context, err: LocalApiError): Response {
  const body: ErrorBody = { error: { code: err.code, message: err.message, ...(err.fields === undefined ? {} : { fields: err.fields }) } };
  return c.json(body, err.status as 400);
}

async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new LocalApiError(415, LocalErrorCode.unsupportedMediaType, 'Send the request as application/json.');
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch (err) {
    throw new LocalApiError(400, LocalErrorCode.malformedJson, 'The request body is not valid JSON.', { cause: err });
  }
  return parse(schema, raw, 'body');
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = result.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  throw new LocalApiError(400, LocalErrorCode.validation, 'Some fields are not valid. Correct them and try again.', { fields });
}

const jsonLimit = bodyLimit({
  maxSize: MAX_JSON_BYTES,
  onError: (c) => errorJson(c, new LocalApiError(413, LocalErrorCode.payloadTooLarge, `The request is larger than ${MAX_JSON_BYTES} bytes. Shorten the message.`)),
});

export function createHttpApp(deps: HttpAppDeps): Hono<Env> {
  const { core, guard, files, streams } = deps;
  const app = new Hono<Env>();

  app.onError((err, c) => {
    if (err instanceof LocalApiError) return errorJson(c, err);
    // Unknown failures: the kind only (never a request body), and a bare 500 to the page.
    process.emitWarning(`telehealth messenger: unexpected error (${err.name}: ${err.message})`);
    return errorJson(c, new LocalApiError(500, LocalErrorCode.internal, 'Something went wrong in the messenger app. Try again; if it keeps failing, restart it.'));
  });
  app.notFound((c) => errorJson(c, new LocalApiError(404, LocalErrorCode.notFound, 'No such page or API.')));

  // 1. Headers on everything; Host before anything else (DNS rebinding).
  app.use('*', async (c, next) => {
    for (const [name, value] of COMMON_HEADERS) c.header(name, value);
    if (!guard.hostOk(c.req.header('host'))) throw new LocalApiError(403, LocalErrorCode.hostRefused, 'This app answers only at the address it printed (127.0.0.1).');
    await next();
  });

  // 2. The launch link: secret → session cookie, then a clean URL.
  app.get('/', async (c, next) => {
    const launch = c.req.query('launch');
    if (launch === undefined) return next();
    const cookie = launch.length <= 128 ? guard.exchange(launch) : undefined;
    if (cookie === undefined) return c.text(`This link was already used or is not valid. ${NOT_LAUNCHED}\n`, 401);
    setCookie(c, guard.cookieName, cookie, { httpOnly: true, sameSite: 'Strict', path: '/' });
    return c.redirect('/', 303);
  });

  // 3. Everything else needs the session cookie.
  app.use('*', async (c, next) => {
    const page = guard.session(cookieValue(c.req.header('cookie'), guard.cookieName));
    if (page === undefined) {
      if (c.req.path.startsWith('/api/')) throw new LocalApiError(401, LocalErrorCode.unauthenticated, NOT_LAUNCHED);
      return c.text(`${NOT_LAUNCHED}\n`, 401);
    }
    c.set('page', page);
    await next();
  });

  // 4. The API also needs the page's token (not for reading it), same-origin fetches, and Origin on writes.
  app.use('/api/*', async (c, next) => {
    const site = c.req.header('sec-fetch-site');
    if (site !== undefined && site !== 'same-origin') throw new LocalApiError(403, LocalErrorCode.originRefused, 'Only the messenger page itself may call this API.');
    if (c.req.method !== 'GET' && !guard.originOk(c.req.header('origin'))) throw new LocalApiError(403, LocalErrorCode.originRefused, 'Only the messenger page itself may call this API.');
    if (!(c.req.method === 'GET' && c.req.path === '/api/session')) {
      const token = c.req.header(TOKEN_HEADER);
      if (token === undefined || !sameSecret(token, c.get('page').csrfToken)) throw new LocalApiError(403, LocalErrorCode.badToken, 'The page’s token is missing or wrong. Reload the page.');
    }
    await next();
  });

  app.get('/', (c) => {
    c.header('content-security-policy', PAGE_CSP);
    return c.body(files.index.body, 200, { 'content-type': files.index.contentType });
  });
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.get('/assets/:name', (c) => {
    const file = files.assets.get(c.req.param('name'));
    if (file === undefined) throw new LocalApiError(404, LocalErrorCode.notFound, 'No such file.');
    return c.body(file.body, 200, { 'content-type': file.contentType });
  });

  app.get('/api/session', (c) => c.json(core.session(c.get('page').csrfToken)));
  app.get('/api/events', (c) => c.body(streams.open(core, c.req.raw.signal), 200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' }));
  app.post('/api/sign-in', jsonLimit, async (c) => {
    await core.signIn(await jsonBody(c, SignInRequest));
    return c.json(core.session(c.get('page').csrfToken));
  });
  app.post('/api/sign-out', jsonLimit, async (c) => {
    await jsonBody(c, EmptyRequest);
    await core.signOut();
    return c.json(core.session(c.get('page').csrfToken));
  });

  app.get('/api/contacts', async (c) => c.json(await core.contacts()));
  app.get('/api/conversations', (c) => c.json({ conversations: core.conversations() }));
  app.post('/api/conversations', jsonLimit, async (c) => {
    const body = await jsonBody(c, NewConversationRequest);
    return c.json({ conversation: await core.addConversation(body.peerUserId, body.label === undefined || body.label === '' ? null : body.label) }, 201);
  });
  app.get('/api/conversations/:peer', (c) => c.json(core.conversation(parse(PeerParams, c.req.param(), 'params').peer)));
  app.post('/api/conversations/:peer/messages', jsonLimit, async (c) => {
    const { peer } = parse(PeerParams, c.req.param(), 'params');
    const body = await jsonBody(c, SendRequest);
    return c.json(await core.send(peer, body.text, body.uploads ?? []), 201);
  });
  app.post('/api/conversations/:peer/read', jsonLimit, async (c) => {
    const { peer } = parse(PeerParams, c.req.param(), 'params');
    return c.json(await core.markRead(peer, (await jsonBody(c, ReadRequest)).clientIds));
  });
  app.get('/api/conversations/:peer/safety-numbers', async (c) => c.json({ safetyNumbers: await core.safetyNumbers(parse(PeerParams, c.req.param(), 'params').peer) }));
  app.post('/api/conversations/:peer/verify', jsonLimit, async (c) => {
    const { peer } = parse(PeerParams, c.req.param(), 'params');
    const body = await jsonBody(c, VerifyRequest);
    await core.setVerified(peer, body.deviceId, body.verified);
    return c.json({ safetyNumbers: await core.safetyNumbers(peer) });
  });
  app.post('/api/conversations/:peer/identity-ack', jsonLimit, async (c) => {
    const { peer } = parse(PeerParams, c.req.param(), 'params');
    await jsonBody(c, EmptyRequest);
    await core.acknowledgeIdentity(peer);
    return c.json(core.conversation(peer));
  });
  app.get('/api/conversations/:peer/messages/:clientId/attachments/:index', async (c) => {
    const p = parse(AttachmentParams, c.req.param(), 'params');
    const file = await core.download(p.peer, p.clientId, p.index);
    c.header('content-security-policy', DOWNLOAD_CSP);
    return c.body(new Uint8Array(file.bytes), 200, { 'content-type': 'application/octet-stream', 'content-disposition': contentDisposition(file.name) });
  });

  // The file's bytes are the body; its name (URI-encoded) and type ride in headers.
  app.post(
    '/api/uploads',
    bodyLimit({ maxSize: deps.maxAttachmentBytes, onError: (c) => errorJson(c, tooLarge(declaredSize(c.req.header('content-length')), deps.maxAttachmentBytes)) }),
    async (c) => {
      const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/octet-stream') throw new LocalApiError(415, LocalErrorCode.unsupportedMediaType, 'Send the file as application/octet-stream.');
      let name: string;
      try {
        name = decodeURIComponent(c.req.header('x-file-name') ?? '');
      } catch (err) {
        throw new LocalApiError(400, LocalErrorCode.validation, 'The file name is not valid.', { cause: err });
      }
      const meta = parse(UploadHeaders, { name, contentType: c.req.header('x-file-type') || undefined }, 'headers');
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      return c.json(await core.upload(bytes, meta.name, meta.contentType), 201);
    },
  );

  return app;
}

/** `attachment` with an ASCII fallback and the exact UTF-8 name (RFC 6266 / 5987). */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

function declaredSize(header: string | undefined): number | undefined {
  const n = Number(header);
  return header !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** One cookie's value from a Cookie header (ours are base64url: nothing to decode). */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
