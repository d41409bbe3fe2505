/**
 * The local app's HTTP guard and API edges, through the real Hono app (app.request) on a real,
 * signed-out core and encrypted store: Host pinning, the one-time launch link, cookie + token +
 * Origin, the page's headers, which files are served, and bounded, validated bodies.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../local-store.ts';
import { TOKEN_HEADER } from './api.ts';
import { MessengerCore } from './core.ts';
import { EventStreams } from './event-stream.ts';
import { LaunchGuard } from './guard.ts';
import { createHttpApp, PAGE_CSP } from './http-app.ts';
import { loadPageFiles } from './page-files.ts';

const PORT = 43_210;
const ORIGIN = `http://127.0.0.1:${PORT}`;
const HOST = `127.0.0.1:${PORT}`;
const LIMIT = 1_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fake vite build: the page, its entry, a chunk only the entry imports, and a console bundle. */
async function fakeDist(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'messenger-dist-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'messenger'), { recursive: true });
  await mkdir(path.join(dir, 'assets'));
  await writeFile(path.join(dir, 'messenger', 'index.html'), '<!doctype html><script type="module" src="/assets/messenger-AAAA1111.js"></script><link rel="stylesheet" href="/assets/messenger-BBBB2222.css">');
  await writeFile(path.join(dir, 'assets', 'messenger-AAAA1111.js'), 'import{x}from"./chunk-CCCC3333.js";x();');
  await writeFile(path.join(dir, 'assets', 'chunk-CCCC3333.js'), 'export const x=()=>1;');
  await writeFile(path.join(dir, 'assets', 'messenger-BBBB2222.css'), 'body{margin:0}');
  await writeFile(path.join(dir, 'assets', 'console-DDDD4444.js'), 'staff();');
  return dir;
}

async function world() {
  const dir = await mkdtemp(path.join(tmpdir(), 'messenger-http-'));
  const store = await LocalStore.create(path.join(dir, 'state'), { rawKey: randomBytes(32) });
  cleanups.push(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const core = new MessengerCore({
    store,
    account: { load: () => undefined, save: () => Promise.resolve(), clear: () => Promise.resolve() },
    gatewayUrl: 'http://127.0.0.1:1',
    connect: () => {
      throw new Error('not in this test');
    },
    deviceLabel: 'test',
    maxAttachmentBytes: LIMIT,
  });
  cleanups.push(() => core.close());
  const guard = new LaunchGuard();
  guard.bind(PORT);
  const streams = new EventStreams();
  cleanups.push(() => Promise.resolve(streams.closeAll()));
  const app = createHttpApp({ core, guard, files: await loadPageFiles(await fakeDist()), streams, maxAttachmentBytes: LIMIT });
  const request = (p: string, init: RequestInit & { headers?: Record<string, string> } = {}) => app.request(`${ORIGIN}${p}`, { ...init, headers: { host: HOST, ...init.headers } });
  /** Launch, returning the cookie header and the page token. */
  const launch = async () => {
    const res = await request(new URL(guard.launchUrl()).pathname + new URL(guard.launchUrl()).search);
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const session = (await (await request('/api/session', { headers: { cookie } })).json()) as { csrfToken: string };
    return { cookie, token: session.csrfToken };
  };
  return { app, guard, request, launch };
}

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

describe('messenger local app: HTTP guard', () => {
  it('trades a launch secret once for an HttpOnly SameSite=Strict cookie and redirects to a clean URL', async () => {
    const { guard, request } = await world();
    const link = new URL(guard.launchUrl());
    expect(link.origin).toBe(ORIGIN);
    const first = await request(`/${link.search}`);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/');
    const cookie = first.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(new RegExp(`^telehealth_messenger_${PORT}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict$`));
    const again = await request(`/${link.search}`);
    expect(again.status).toBe(401);
    expect(await again.text()).toMatch(/already used or is not valid/);
    const page = await request('/', { headers: { cookie: cookie.split(';')[0] ?? '' } });
    expect(page.status).toBe(200);
  });

  it('refuses every request without the launch cookie with 401, the API with a JSON error', async () => {
    const { request } = await world();
    expect((await request('/')).status).toBe(401);
    expect((await request('/assets/messenger-AAAA1111.js')).status).toBe(401);
    const api = await request('/api/session');
    expect(api.status).toBe(401);
    expect(await errorCode(api)).toBe('unauthenticated');
    const forged = await request('/api/session', { headers: { cookie: `telehealth_messenger_${PORT}=${randomBytes(32).toString('base64url')}` } });
    expect(forged.status).toBe(401);
  });

  it('refuses a Host other than 127.0.0.1:<port> before anything else (DNS rebinding)', async () => {
    const { guard, request, launch } = await world();
    const { cookie } = await launch();
    for (const host of ['localhost:43210', 'evil.example:43210', '127.0.0.1:1', '127.0.0.1']) {
      const res = await request('/api/session', { headers: { host, cookie } });
      expect(res.status, host).toBe(403);
      expect(await errorCode(res)).toBe('host_refused');
    }
    // Not even the launch exchange answers to another name.
    const res = await request(`/${new URL(guard.launchUrl()).search}`, { headers: { host: 'evil.example:43210' } });
    expect(res.status).toBe(403);
  });

  it('needs the page token on the API, the app’s own Origin on writes, and same-origin fetches', async () => {
    const { request, launch } = await world();
    const { cookie, token } = await launch();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const noToken = await request('/api/conversations', { headers: { cookie } });
    expect(noToken.status).toBe(403);
    expect(await errorCode(noToken)).toBe('bad_token');
    const wrong = await request('/api/conversations', { headers: { cookie, [TOKEN_HEADER]: 'x'.repeat(43) } });
    expect(wrong.status).toBe(403);
    const ok = await request('/api/conversations', { headers: { cookie, [TOKEN_HEADER]: token } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ conversations: [] });

    const json = { cookie, [TOKEN_HEADER]: token, 'content-type': 'application/json' };
    const noOrigin = await request('/api/sign-out', { method: 'POST', headers: json, body: '{}' });
    expect(noOrigin.status).toBe(403);
    expect(await errorCode(noOrigin)).toBe('origin_refused');
    const otherPort = await request('/api/sign-out', { method: 'POST', headers: { ...json, origin: 'http://127.0.0.1:8080' }, body: '{}' });
    expect(otherPort.status).toBe(403);
    const crossSite = await request('/api/conversations', { headers: { cookie, [TOKEN_HEADER]: token, 'sec-fetch-site': 'same-site' } });
    expect(crossSite.status).toBe(403);
    const good = await request('/api/sign-out', { method: 'POST', headers: { ...json, origin: ORIGIN, 'sec-fetch-site': 'same-origin' }, body: '{}' });
    expect(good.status).toBe(200);
    expect(await good.json()).toMatchObject({ signedIn: false, endedReason: 'logout' });
  });

  it('serves the page with a strict CSP and only the assets it references', async () => {
    const { request, launch } = await world();
    const { cookie } = await launch();
    const page = await request('/', { headers: { cookie } });
    expect(page.headers.get('content-security-policy')).toBe(PAGE_CSP);
    expect(PAGE_CSP).toContain("default-src 'self'");
    expect(PAGE_CSP).not.toContain('unsafe-inline');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    for (const name of ['messenger-AAAA1111.js', 'chunk-CCCC3333.js', 'messenger-BBBB2222.css']) {
      const res = await request(`/assets/${name}`, { headers: { cookie } });
      expect(res.status, name).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    for (const p of ['/assets/console-DDDD4444.js', '/assets/..%2Fmessenger%2Findex.html', '/messenger/index.html', '/console/']) {
      expect((await request(p, { headers: { cookie } })).status, p).toBe(404);
    }
    const api = await request('/api/session', { headers: { cookie } });
    expect(api.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(api.headers.get('cache-control')).toBe('no-store');
  });

  it('validates and bounds bodies, with JSON errors that say what to do', async () => {
    const { request, launch } = await world();
    const { cookie, token } = await launch();
    const headers = { cookie, [TOKEN_HEADER]: token, origin: ORIGIN, 'content-type': 'application/json' };
    const post = (p: string, body: string, extra: Record<string, string> = {}) => request(p, { method: 'POST', headers: { ...headers, ...extra }, body });

    const malformed = await post('/api/conversations', '{"peerUserId":');
    expect(malformed.status).toBe(400);
    expect(await errorCode(malformed)).toBe('malformed_json');
    const invalid = await post('/api/conversations', JSON.stringify({ peerUserId: 'not-a-uuid', extra: 1 }));
    expect(invalid.status).toBe(400);
    const body = (await invalid.json()) as { error: { code: string; fields: { path: string }[] } };
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.fields.map((f) => f.path).sort()).toEqual(['body', 'body.peerUserId']);
    expect((await post('/api/conversations', '{}', { 'content-type': 'text/plain' })).status).toBe(415);
    const huge = await post('/api/sign-in', JSON.stringify({ kind: 'patient', enrollmentCode: 'x'.repeat(200_000) }));
    expect(huge.status).toBe(413);
    expect(await errorCode(huge)).toBe('payload_too_large');
    const badPeer = await request('/api/conversations/..%2F..', { headers });
    expect(badPeer.status).toBe(400);

    // Signed out: the API says so (and what to do) instead of failing obscurely.
    const signedOut = await post(`/api/conversations/${crypto.randomUUID()}/messages`, JSON.stringify({ text: 'hello' }));
    expect(signedOut.status).toBe(401);
    expect(((await signedOut.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'signed_out', message: expect.stringMatching(/Sign in again/) as string });
  });

  it('refuses an attachment over the limit with 413 and the limit in the message', async () => {
    const { request, launch } = await world();
    const { cookie, token } = await launch();
    const res = await request('/api/uploads', {
      method: 'POST',
      headers: { cookie, [TOKEN_HEADER]: token, origin: ORIGIN, 'content-type': 'application/octet-stream', 'x-file-name': 'scan.pdf' },
      body: new Uint8Array(LIMIT + 1),
    });
    expect(res.status).toBe(413);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('attachment_too_large');
    expect(error.message).toMatch(/files may be at most 1 KB\. Send a smaller file/);
  });

  it('streams live events to the page as text/event-stream', async () => {
    const { request, launch } = await world();
    const { cookie, token } = await launch();
    const abort = new AbortController();
    const res = await request('/api/events', { headers: { cookie, [TOKEN_HEADER]: token }, signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('event: ready\ndata: {}\n\n');
    await reader.cancel();
    abort.abort();
  });
});
