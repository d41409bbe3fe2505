/**
 * What every response and every request leaves behind: security headers, the request id,
 * one access-log line with the route pattern, metrics labelled by pattern, and no PHI in logs.
 */
import { describe, expect, it } from 'vitest';
import { afterTelemetry, testApp } from '../testing/harness.ts';
import { FLUSH_DELAY_MS } from './telemetry.ts';
import { sampleRoutes } from '../testing/sample-routes.ts';

const note = { email: 'jane.roe@example.org', text: 'Rash is gone', priority: 1, tags: [] };
const postNote = (headers: Record<string, string> = {}) =>
  ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(note) }) as const;

const SECURITY_HEADERS = {
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'cross-origin-resource-policy': 'same-origin',
};

function expectSecurityHeaders(res: Response): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name), name).toBe(value);
  expect(res.headers.get('x-powered-by')).toBeNull();
}

describe('security headers', () => {
  const { app } = testApp({ modules: [sampleRoutes] });

  it.each([
    ['a success', () => app.request('/patients/p-1/notes', postNote())],
    ['a validation error', () => app.request('/patients/p-1/notes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })],
    ['a 404', () => app.request('/nowhere')],
    ['a 500', () => app.request('/boom')],
    ['the health endpoint', () => app.request('/healthz')],
  ])('are on %s', async (_name, send) => {
    expectSecurityHeaders(await send());
  });

  it('the docs page keeps its own CSP (own stylesheet only, no script)', async () => {
    const res = await app.request('/docs');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src|unsafe-inline|https?:/);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('request id', () => {
  const { app } = testApp({ modules: [sampleRoutes] });

  it('is generated when absent and echoed in the header and error body', async () => {
    const res = await app.request('/nowhere');
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(((await res.json()) as { error: { requestId: string } }).error.requestId).toBe(id);
  });

  it('keeps a safe inbound id', async () => {
    const res = await app.request('/healthz', { headers: { 'x-request-id': 'lb-7f3a.9c21_x' } });
    expect(res.headers.get('x-request-id')).toBe('lb-7f3a.9c21_x');
  });

  it.each([
    ['too long', 'a'.repeat(65)],
    ['unsafe characters', 'abc"><script>'],
    ['a log-injection attempt', 'x\\nlevel=fatal'],
    ['empty', ''],
  ])('replaces an inbound id that is %s', async (_why, inbound) => {
    const res = await app.request('/healthz', { headers: { 'x-request-id': inbound } });
    const id = res.headers.get('x-request-id');
    expect(id).not.toBe(inbound);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('differs between requests', async () => {
    const a = await app.request('/healthz');
    const b = await app.request('/healthz');
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
  });
});

describe('access log', () => {
  it('writes the lines by itself within a few milliseconds, in request order', async () => {
    const { app, logs } = testApp({ modules: [sampleRoutes] });
    for (const id of ['ord-1', 'ord-2', 'ord-3']) await app.request('/healthz', { headers: { 'x-request-id': id } });
    await new Promise((r) => setTimeout(r, FLUSH_DELAY_MS * 4));
    expect(logs.lines().filter((l) => l['msg'] === 'request').map((l) => l['requestId'])).toEqual(['ord-1', 'ord-2', 'ord-3']);
  });

  it('writes one line per request with the route pattern, never the raw URL or query', async () => {
    const { app, logs } = testApp({ modules: [sampleRoutes] });
    const res = await app.request('/patients/p-4711/notes?limit=3&name=Jane', postNote({ 'x-request-id': 'req-1' }));
    expect(res.status).toBe(200);
    await afterTelemetry();
    const access = logs.lines().filter((l) => l['msg'] === 'request');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ level: 'info', requestId: 'req-1', method: 'POST', route: '/patients/:patientId/notes', status: 200 });
    expect(typeof access[0]?.['durationMs']).toBe('number');
    expect(logs.text()).not.toContain('p-4711');
    expect(logs.text()).not.toContain('limit=3');
    expect(logs.text()).not.toContain('Jane');
  });

  it('names unmatched requests "unmatched" and keeps the pattern for rejected ones', async () => {
    const { app, logs } = testApp({ modules: [sampleRoutes] });
    await app.request('/patients/p-1/secret-thing');
    await app.request('/patients/p-1/notes', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    await afterTelemetry();
    const routes = logs.lines().filter((l) => l['msg'] === 'request').map((l) => [l['route'], l['status']]);
    expect(routes).toEqual([
      ['unmatched', 404],
      ['/patients/:patientId/notes', 415],
    ]);
    expect(logs.text()).not.toContain('secret-thing');
  });

  it('never carries a PHI value a handler logs, nor anything from the body', async () => {
    const { app, logs } = testApp({ modules: [sampleRoutes] });
    const res = await app.request('/patients/p-1/notes', postNote());
    expect(res.status).toBe(200);
    await afterTelemetry();
    const text = logs.text();
    expect(text).not.toContain('jane.roe@example.org');
    expect(text).not.toContain('Rash is gone');
    // The handler's line is there, bound to the request id, with the field redacted.
    const handlerLine = logs.lines().find((l) => l['msg'] === 'note received');
    expect(handlerLine).toMatchObject({ email: '[redacted]', length: 12, requestId: res.headers.get('x-request-id') });
  });

  it('a handler logger child keeps the request id and redaction', async () => {
    const { app, logs } = testApp({
      modules: [
        (a) =>
          a.get('/child', (c) => {
            c.get('log').child({ component: 'x' }).warn({ patient: { phone: '+1 555 0100' } }, 'child line');
            return c.json({ ok: true });
          }),
      ],
    });
    const res = await app.request('/child');
    await afterTelemetry();
    const line = logs.lines().find((l) => l['msg'] === 'child line');
    expect(line).toMatchObject({ component: 'x', requestId: res.headers.get('x-request-id'), patient: { phone: '[redacted]' } });
    expect(logs.text()).not.toContain('555 0100');
  });
});

describe('metrics', () => {
  it('count requests by method, route pattern and status, never by raw id', async () => {
    const { app } = testApp({ modules: [sampleRoutes] });
    await app.request('/patients/p-9001/notes', postNote());
    await app.request('/patients/p-9002/notes', postNote());
    await app.request('/no/such/thing-9003');
    await app.request('/healthz', { method: 'BREW' });
    await afterTelemetry();
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('http_requests_total{method="POST",route="/patients/:patientId/notes",status="200"} 2');
    expect(text).toContain('http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toContain('method="OTHER"');
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="[\d.]+",method="POST",route="\/patients\/:patientId\/notes",status="200"\} \d/);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).not.toMatch(/p-900\d|thing-9003|BREW/);
  });

  it('use a registry per app, so apps never share counts', async () => {
    const one = testApp();
    const two = testApp();
    await one.app.request('/readyz');
    await afterTelemetry();
    expect(await one.metrics.metrics()).toContain('route="/readyz"');
    expect(await two.metrics.metrics()).not.toContain('route="/readyz"');
  });
});
