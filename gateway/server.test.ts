/**
 * The real server on real sockets: port 0, headers on the wire, a chunked body over the limit,
 * graceful close (in-flight requests finish, readiness drops, new connections are refused, the
 * grace period is enforced), HTTPS with TLS >= 1.2 only, and start-up failures.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as tlsConnect, type SecureVersion } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StartupError } from '../core/errors.ts';
import { createLifecycle } from './lifecycle.ts';
import type { RouteModule } from './route-module.ts';
import { startHttpServer, type RunningServer } from './server.ts';
import { testApp, testConfig } from './testing/harness.ts';
import { sampleRoutes } from './testing/sample-routes.ts';

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function collect(res: IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (body += d));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    res.on('error', reject);
  });
}

/** A gate the test opens; the route signals when a request is inside. */
function slowRoute() {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let entered: () => void = () => undefined;
  const inside = new Promise<void>((r) => (entered = r));
  const module: RouteModule = (app) =>
    app.get('/slow', async (c) => {
      entered();
      await gate;
      return c.json({ done: true });
    });
  return { module, release, inside };
}

const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function serve(opts: { env?: Record<string, string>; modules?: RouteModule[] } = {}) {
  const lifecycle = createLifecycle();
  const t = testApp({ config: testConfig(opts.env), modules: opts.modules ?? [sampleRoutes], lifecycle });
  const server = await startHttpServer(t.app, { config: t.config, log: t.logs.log, lifecycle });
  running.push(server);
  return { ...t, server };
}

describe('plain HTTP', () => {
  it('listens on the real port when asked for port 0, and marks the process ready', async () => {
    const { server, lifecycle } = await serve();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(lifecycle.state).toBe('ready');
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
  });

  it('sends the security headers and request id on the wire, and no X-Powered-By', async () => {
    const { server } = await serve();
    const res = await fetch(`${server.url}/nowhere`);
    expect(res.status).toBe(404);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(res.headers.get('x-powered-by')).toBeNull();
    const body = (await res.json()) as { error: { requestId: string } };
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
    const docs = await fetch(`${server.url}/docs`);
    expect(docs.headers.get('content-security-policy')).toContain("style-src 'self'");
  });

  it('writes each security header exactly once, and a response that sets its own keeps only its value', async () => {
    const own: RouteModule = (app) => app.get('/own-cache', (c) => c.json({ ok: true }, 200, { 'Cache-Control': 'private, max-age=5' }));
    const { server } = await serve({ modules: [sampleRoutes, own] });
    const rawHead = (path: string) =>
      new Promise<string[]>((resolve, reject) => {
        const socket = connect(server.port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => (data += d));
        socket.on('end', () => resolve((data.split('\r\n\r\n')[0] ?? '').split('\r\n').slice(1).map((l) => l.toLowerCase())));
        socket.on('error', reject);
      });
    const values = (lines: string[], name: string) => lines.filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2));
    const fixed = ['strict-transport-security', 'content-security-policy', 'cache-control', 'referrer-policy', 'x-frame-options', 'x-content-type-options', 'cross-origin-resource-policy', 'x-request-id'];

    const api = await rawHead('/readyz');
    for (const name of fixed) expect(values(api, name), name).toHaveLength(1);
    const docs = await rawHead('/docs');
    for (const name of fixed) expect(values(docs, name), name).toHaveLength(1);
    expect(values(docs, 'content-security-policy')[0]).toContain("style-src 'self'");
    const cached = await rawHead('/own-cache');
    for (const name of fixed) expect(values(cached, name), name).toHaveLength(1);
    expect(values(cached, 'cache-control')).toEqual(['private, max-age=5']);
  });

  it("puts the headers even on the adapter's own answers (a malformed Host gets a bare 400)", async () => {
    const { server } = await serve();
    const head = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: exa mple\r\nConnection: close\r\n\r\n'));
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(head).toMatch(/^HTTP\/1\.1 400/);
    expect(head.toLowerCase()).toContain('strict-transport-security: max-age=63072000; includesubdomains');
    expect(head.toLowerCase()).toContain('x-content-type-options: nosniff');
  });

  it('refuses a chunked body over the limit with 413', async () => {
    const { server } = await serve({ env: { BODY_LIMIT_BYTES: '2048' } });
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = httpRequest(`${server.url}/patients/p-1/notes`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        collect(res).then(resolve, reject);
      });
      req.on('error', reject);
      expect(req.getHeader('transfer-encoding') ?? 'chunked').toBe('chunked');
      let sent = 0;
      const pump = () => {
        // Up to 1 MiB in 1 KiB chunks unless the server answers first.
        while (sent < 1024 && !req.destroyed) {
          sent++;
          if (!req.write('x'.repeat(1024))) return req.once('drain', pump);
        }
        req.end();
        return undefined;
      };
      pump();
    });
    expect(reply.status).toBe(413);
    expect((JSON.parse(reply.body) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('refuses a declared length over the limit with 413', async () => {
    const { server } = await serve({ env: { BODY_LIMIT_BYTES: '2048' } });
    const res = await fetch(`${server.url}/patients/p-1/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(4096) });
    expect(res.status).toBe(413);
  });

  it('serves a valid JSON request end to end', async () => {
    const { server } = await serve();
    const res = await fetch(`${server.url}/patients/p-1/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'a@example.org', text: 'hi', priority: 0, tags: [] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, patientId: 'p-1' });
  });

  it('reads bodies straight from the socket and still reports malformed JSON and a chunked body', async () => {
    const { server } = await serve();
    const post = (body: string | ReadableStream<Uint8Array>) =>
      fetch(`${server.url}/patients/p-1/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' });
    const bad = await post('{"email": ');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('malformed_json');
    // Without Content-Length (chunked) the body goes through the streaming limiter instead.
    const json = JSON.stringify({ email: 'a@example.org', text: 'hi', priority: 0, tags: [] });
    const chunked = new ReadableStream<Uint8Array>({
      start(ctrl) {
        ctrl.enqueue(new TextEncoder().encode(json.slice(0, 10)));
        ctrl.enqueue(new TextEncoder().encode(json.slice(10)));
        ctrl.close();
      },
    });
    const ok = await post(chunked);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true, patientId: 'p-1' });
  });
});

describe('trust proxy', () => {
  const whoami: RouteModule = (app) => app.get('/whoami', (c) => c.json({ ip: c.get('clientIp') }));
  const get = async (url: string, headers: Record<string, string>) => {
    const res = await fetch(url, { headers });
    return { status: res.status, body: (await res.json()) as { ip?: string; error?: { code: string } } };
  };

  it('off: forwarded headers are ignored and the socket address is the client', async () => {
    const { server } = await serve({ modules: [whoami] });
    const r = await get(`${server.url}/whoami`, { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'http' });
    expect(r).toEqual({ status: 200, body: { ip: '127.0.0.1' } });
  });

  it('on: the rightmost X-Forwarded-For entry is the client; spoofed entries to its left are not', async () => {
    const { server } = await serve({ env: { TRUST_PROXY: 'true' }, modules: [whoami] });
    expect((await get(`${server.url}/whoami`, { 'x-forwarded-for': '10.9.9.9, 203.0.113.7', 'x-forwarded-proto': 'https' })).body.ip).toBe('203.0.113.7');
    expect((await get(`${server.url}/whoami`, { 'x-forwarded-for': '2001:db8::1' })).body.ip).toBe('2001:db8::1');
    expect((await get(`${server.url}/whoami`, { 'x-forwarded-for': 'not-an-ip' })).body.ip).toBe('127.0.0.1');
    expect((await get(`${server.url}/whoami`, {})).body.ip).toBe('127.0.0.1');
  });

  it('on: plain HTTP at the proxy is refused with 403 https_required, except the probes', async () => {
    const { server } = await serve({ env: { TRUST_PROXY: 'true' }, modules: [whoami] });
    expect(await get(`${server.url}/whoami`, { 'x-forwarded-proto': 'http' })).toEqual({
      status: 403,
      body: { error: { code: 'https_required', message: 'HTTPS is required', requestId: expect.any(String) as unknown } },
    });
    expect((await get(`${server.url}/whoami`, { 'x-forwarded-proto': 'https, http' })).status).toBe(403);
    expect((await get(`${server.url}/whoami`, { 'x-forwarded-proto': 'HTTP' })).status).toBe(403);
    expect((await get(`${server.url}/whoami`, { 'x-forwarded-proto': 'https' })).status).toBe(200);
    expect((await get(`${server.url}/healthz`, { 'x-forwarded-proto': 'http' })).status).toBe(200);
    expect((await get(`${server.url}/readyz`, { 'x-forwarded-proto': 'http' })).status).toBe(200);
  });
});

describe('graceful close', () => {
  it('lets an in-flight request finish while refusing new connections and reporting not ready', async () => {
    const slow = slowRoute();
    const { server, app, lifecycle } = await serve({ modules: [slow.module] });
    const inFlight = fetch(`${server.url}/slow`);
    await slow.inside;

    const closing = server.close();
    expect(server.close()).toBe(closing); // idempotent
    expect(lifecycle.state).toBe('draining');
    expect((await app.request('/readyz')).status).toBe(503);
    await expect(fetch(`${server.url}/readyz`)).rejects.toThrow();

    slow.release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toEqual({ done: true });
    await closing;
    expect(server.server.listening).toBe(false);
  });

  it('cuts requests still running when the grace period ends', async () => {
    const slow = slowRoute();
    const { server } = await serve({ env: { SHUTDOWN_GRACE_MS: '200' }, modules: [slow.module] });
    const inFlight = fetch(`${server.url}/slow`);
    await slow.inside;
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(performance.now() - started).toBeLessThan(2000);
    await expect(inFlight).rejects.toThrow();
    slow.release();
  });

  it('refuses connections past MAX_CONNECTIONS at once and accepts again when one closes', async () => {
    const { server } = await serve({ env: { MAX_CONNECTIONS: '2' } });
    const open = async () => {
      const socket = connect({ host: '127.0.0.1', port: server.port });
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      return { socket, closed };
    };
    const held = [await open(), await open()];
    // Both held sockets are counted before the third arrives.
    await new Promise((r) => setTimeout(r, 100));
    const third = await open();
    const cut = await Promise.race([third.closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]);
    expect(cut, 'a third connection was kept open past MAX_CONNECTIONS=2').toBe(true);
    held[0]?.socket.destroy();
    await held[0]?.closed;
    await new Promise((r) => setTimeout(r, 100));
    const res = await fetch(`${server.url}/readyz`, { headers: { connection: 'close' } });
    expect(res.status).toBe(200);
    held[1]?.socket.destroy();
  });

  it('closes idle keep-alive connections at once', async () => {
    const { server } = await serve();
    await (await fetch(`${server.url}/readyz`)).text(); // leaves a pooled keep-alive socket
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('HTTPS', () => {
  let dir: string;
  let cert: string;
  let key: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gateway-tls-'));
    cert = path.join(dir, 'cert.pem');
    key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tlsEnv = () => ({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key });

  function handshake(port: number, version: SecureVersion): Promise<{ protocol: string | null; cipher: string }> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect(
        // SECLEVEL=0 lets this client *offer* old versions, so the refusal seen is the server's.
        { host: '127.0.0.1', port, ca: readFileSync(cert), servername: 'localhost', minVersion: version, maxVersion: version, ciphers: 'DEFAULT:@SECLEVEL=0' },
        () => {
          const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
          socket.end();
          resolve(result);
        },
      );
      socket.on('error', reject);
    });
  }

  it('serves HTTPS with the configured certificate', async () => {
    const { server } = await serve({ env: tlsEnv() });
    expect(server.url).toBe(`https://127.0.0.1:${server.port}`);
    const reply = await new Promise<Reply>((resolve, reject) => {
      httpsRequest(`${server.url}/healthz`, { ca: readFileSync(cert), servername: 'localhost' }, (res) => void collect(res).then(resolve, reject))
        .on('error', reject)
        .end();
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
  });

  it('accepts TLS 1.2 (forward-secret AEAD suites) and TLS 1.3', async () => {
    const { server } = await serve({ env: tlsEnv() });
    const v12 = await handshake(server.port, 'TLSv1.2');
    expect(v12.protocol).toBe('TLSv1.2');
    expect(v12.cipher).toMatch(/^ECDHE-.*(GCM|CHACHA20)/);
    expect((await handshake(server.port, 'TLSv1.3')).protocol).toBe('TLSv1.3');
  });

  it('refuses TLS 1.1 with a protocol_version alert', async () => {
    const { server } = await serve({ env: tlsEnv() });
    await expect(handshake(server.port, 'TLSv1.1')).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
  });
});

describe('start-up failures', () => {
  it('an unreadable certificate is a StartupError naming the file', async () => {
    const t = testApp({ config: testConfig({ TLS_CERT_FILE: '/nonexistent/cert.pem', TLS_KEY_FILE: '/nonexistent/key.pem' }) });
    const started = startHttpServer(t.app, { config: t.config, log: t.logs.log });
    await expect(started).rejects.toBeInstanceOf(StartupError);
    await expect(started).rejects.toThrow('/nonexistent/cert.pem');
  });

  it('a port in use is a StartupError', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const t = testApp({ config: testConfig({ PORT: String(port) }) });
    await expect(startHttpServer(t.app, { config: t.config, log: t.logs.log })).rejects.toThrow(/EADDRINUSE/);
    await new Promise<void>((r) => blocker.close(() => r()));
  });
});
