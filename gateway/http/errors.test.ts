/**
 * Bad input and failures, at unit level through app.request(): each gets its specific,
 * documented status, code and fields, carries the request id, and nothing crashes.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { jsonBody } from '../openapi/schemas.ts';
import { afterTelemetry, testApp, testConfig } from '../testing/harness.ts';
import { sampleRoutes } from '../testing/sample-routes.ts';

interface ErrorJson {
  error: { code: string; message: string; fields?: { path: string; message: string }[]; requestId: string };
}

const validNote = { email: 'pat@example.org', text: 'Feeling better', priority: 2, tags: ['follow-up'] };

function post(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): RequestInit {
  return { method: 'POST', headers, body };
}

async function errorOf(res: Response): Promise<ErrorJson> {
  const body = (await res.json()) as ErrorJson;
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
  return body;
}

describe('error responses', () => {
  const { app } = testApp({ modules: [sampleRoutes] });

  it('accepts a valid request', async () => {
    const res = await app.request('/patients/p-1/notes?limit=5', post(JSON.stringify(validNote)));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, patientId: 'p-1', limit: 5 });
  });

  it('wrong types → 400 validation_failed with one field per problem', async () => {
    const res = await app.request('/patients/p-1/notes', post(JSON.stringify({ ...validNote, email: 'nope', priority: '2', tags: ['x', 7] })));
    expect(res.status).toBe(400);
    const { error } = await errorOf(res);
    expect(error.code).toBe('validation_failed');
    expect(error.message).toBe('Request validation failed');
    expect(error.fields).toEqual([
      { path: 'body.email', message: 'Invalid email address' },
      { path: 'body.priority', message: 'Invalid input: expected number, received string' },
      { path: 'body.tags.1', message: 'Invalid input: expected string, received number' },
    ]);
  });

  it('unknown fields on a strict body → 400 naming each field', async () => {
    const res = await app.request('/patients/p-1/notes', post(JSON.stringify({ ...validNote, ssn: '123-45-6789', admin: true })));
    expect(res.status).toBe(400);
    const { error } = await errorOf(res);
    expect(error.code).toBe('validation_failed');
    expect(error.fields).toEqual([
      { path: 'body.ssn', message: 'Unknown field' },
      { path: 'body.admin', message: 'Unknown field' },
    ]);
    // The value is never echoed, only the key the client sent.
    expect(JSON.stringify(error)).not.toContain('123-45-6789');
  });

  it('bounds: too long strings and too many items are rejected', async () => {
    const res = await app.request('/patients/p-1/notes', post(JSON.stringify({ ...validNote, text: 'x'.repeat(201), tags: ['a', 'b', 'c', 'd', 'e', 'f'] })));
    const { error } = await errorOf(res);
    expect(error.fields?.map((f) => f.path)).toEqual(['body.text', 'body.tags']);
  });

  it('path and query parameters are validated and named', async () => {
    const res = await app.request('/patients/NOT_OK/notes?limit=500', post(JSON.stringify(validNote)));
    expect(res.status).toBe(400);
    const { error } = await errorOf(res);
    expect(error.fields).toEqual([
      { path: 'params.patientId', message: 'Invalid string: must match pattern /^[a-z0-9-]{1,40}$/' },
      { path: 'query.limit', message: 'Too big: expected number to be <=50' },
    ]);
  });

  it('a body that is JSON but not an object → 400 at path "body"', async () => {
    const res = await app.request('/patients/p-1/notes', post('[1,2]'));
    const { error } = await errorOf(res);
    expect(error.fields).toEqual([{ path: 'body', message: 'Invalid input: expected object, received array' }]);
  });

  it('malformed JSON → 400 malformed_json, no fields', async () => {
    const res = await app.request('/patients/p-1/notes', post('{"email": "pat@example.org",'));
    expect(res.status).toBe(400);
    const { error } = await errorOf(res);
    expect(error).toEqual({ code: 'malformed_json', message: 'Request body is not valid JSON', requestId: error.requestId });
  });

  it('empty body declared as JSON → 400 malformed_json', async () => {
    const res = await app.request('/patients/p-1/notes', post(''));
    expect((await errorOf(res)).error.code).toBe('malformed_json');
  });

  it('wrong Content-Type → 415 unsupported_media_type', async () => {
    const res = await app.request('/patients/p-1/notes', post(JSON.stringify(validNote), { 'content-type': 'text/plain' }));
    expect(res.status).toBe(415);
    expect((await errorOf(res)).error.code).toBe('unsupported_media_type');
  });

  it('missing Content-Type on a JSON route → 415, with or without a body', async () => {
    const withBody = await app.request('/patients/p-1/notes', { method: 'POST', body: new TextEncoder().encode(JSON.stringify(validNote)) });
    expect(withBody.status).toBe(415);
    expect((await errorOf(withBody)).error.code).toBe('unsupported_media_type');
    const empty = await app.request('/patients/p-1/notes', { method: 'POST' });
    expect(empty.status).toBe(415);
    expect((await errorOf(empty)).error.code).toBe('unsupported_media_type');
  });

  it('a route on the library validation path (header schema) answers in the same shapes', async () => {
    const bad = await app.request('/versioned', post('{"n":1}', { 'content-type': 'application/json', 'x-client-version': 'latest' }));
    expect(bad.status).toBe(400);
    const { error } = await errorOf(bad);
    expect(error.code).toBe('validation_failed');
    expect(error.fields?.[0]?.path).toBe('headers.x-client-version');
    const malformed = await app.request('/versioned', post('{', { 'content-type': 'application/json', 'x-client-version': '1.2' }));
    expect((await errorOf(malformed)).error.code).toBe('malformed_json');
    const wrongType = await app.request('/versioned', post('{"n":1}', { 'content-type': 'text/csv', 'x-client-version': '1.2' }));
    expect(wrongType.status).toBe(415);
    const ok = await app.request('/versioned', post('{"n":1}', { 'content-type': 'application/json', 'x-client-version': '1.2' }));
    expect(await ok.json()).toEqual({ n: 1 });
  });

  it('unknown route → 404 not_found', async () => {
    const res = await app.request('/no/such/route?token=abc');
    expect(res.status).toBe(404);
    const { error } = await errorOf(res);
    expect(error).toEqual({ code: 'not_found', message: 'Not found', requestId: error.requestId });
  });

  it('AppError → its own status, code and message', async () => {
    const res = await app.request('/conflict');
    expect(res.status).toBe(409);
    const { error } = await errorOf(res);
    expect(error).toEqual({ code: 'conflict', message: 'Already exists', requestId: error.requestId });
  });

  it('a non-Error throw → bare 500', async () => {
    const res = await app.request('/throws-string');
    expect(res.status).toBe(500);
    expect((await errorOf(res)).error.code).toBe('internal_error');
  });
});

describe('schemas with async checks', () => {
  const taken = new Set(['dr-who']);
  const { app } = testApp({
    modules: [
      (a) =>
        a.openapi(
          createRoute({
            method: 'post',
            path: '/handles',
            request: { body: jsonBody(z.strictObject({ handle: z.string().max(20).refine(async (h) => Promise.resolve(!taken.has(h)), 'Handle is taken') })) },
            responses: { 200: { description: 'ok', content: { 'application/json': { schema: z.object({ handle: z.string() }) } } } },
          }),
          (c) => c.json({ handle: c.req.valid('json').handle }, 200),
        ),
    ],
  });

  it('are validated asynchronously with the same error shape', async () => {
    const ok = await app.request('/handles', post(JSON.stringify({ handle: 'dr-no' })));
    expect(await ok.json()).toEqual({ handle: 'dr-no' });
    const bad = await app.request('/handles', post(JSON.stringify({ handle: 'dr-who' })));
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).error.fields).toEqual([{ path: 'body.handle', message: 'Handle is taken' }]);
  });
});

describe('unexpected errors', () => {
  it('become a bare 500 while the cause is logged (without the request body)', async () => {
    const { app, logs } = testApp({ modules: [sampleRoutes] });
    const res = await app.request('/boom?q=secret-query');
    expect(res.status).toBe(500);
    const text = await res.text();
    const body = JSON.parse(text) as ErrorJson;
    expect(body).toEqual({ error: { code: 'internal_error', message: 'Internal server error', requestId: res.headers.get('x-request-id') } });
    expect(text).not.toMatch(/password|10\.0\.0\.5|stack|at /);

    await afterTelemetry();
    const logged = logs.lines().find((l) => l['msg'] === 'unhandled error');
    expect(logged).toBeDefined();
    expect(logged?.['requestId']).toBe(body.error.requestId);
    expect(logged?.['route']).toBe('/boom');
    const err = logged?.['err'] as { message: string; stack: string };
    expect(err.message).toContain('socket hang up'); // the cause chain is kept
    expect(err.stack).toContain('Error:');
    expect(logs.text()).not.toContain('secret-query');
  });
});

describe('body size', () => {
  const { app } = testApp({ config: testConfig({ BODY_LIMIT_BYTES: '1024' }), modules: [sampleRoutes] });

  it('declared too large → 413 payload_too_large before the route runs', async () => {
    const big = JSON.stringify({ ...validNote, text: 'x'.repeat(2000) });
    const res = await app.request('/patients/p-1/notes', post(big, { 'content-type': 'application/json', 'content-length': String(big.length) }));
    expect(res.status).toBe(413);
    const { error } = await errorOf(res);
    expect(error).toEqual({ code: 'payload_too_large', message: 'Request body exceeds 1024 bytes', requestId: error.requestId });
  });

  it('streamed without a length and too large → 413', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(600));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 5) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await app.request('/patients/p-1/notes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).error.code).toBe('payload_too_large');
    expect(sent).toBeLessThan(5); // reading stopped at the limit
  });

  it('streamed within the limit → reaches the route', async () => {
    const body = new TextEncoder().encode(JSON.stringify(validNote));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body);
        controller.close();
      },
    });
    const res = await app.request('/patients/p-1/notes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' });
    expect(res.status).toBe(200);
  });
});
