/**
 * GET /openapi.json is an OpenAPI 3.1 document generated from the route schemas (including a
 * feature module's), and GET /docs renders every operation in it as a script-free page.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import type { RouteModule } from '../route-module.ts';
import { testApp } from '../testing/harness.ts';
import { sampleRoutes } from '../testing/sample-routes.ts';

interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { responses?: Record<string, unknown>; parameters?: { name: string; in: string; required?: boolean }[]; requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> } }>>;
  components: { schemas: Record<string, unknown> };
}

const hostile: RouteModule = (app) => {
  app.openapi(
    createRoute({ method: 'get', path: '/hostile', summary: '<img src=x onerror=alert(1)>', responses: { 200: { description: 'ok', content: { 'application/json': { schema: z.object({ a: z.string() }) } } } } }),
    (c) => c.json({ a: 'x' }, 200),
  );
};

function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

describe('GET /openapi.json', async () => {
  const { app } = testApp({ modules: [sampleRoutes, hostile] });
  const res = await app.request('/openapi.json');
  const doc = (await res.json()) as Doc;

  it('is an OpenAPI 3.1 document', () => {
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBe('Telehealth gateway API');
    expect(typeof doc.info.version).toBe('string');
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path.startsWith('/')).toBe(true);
      for (const [method, op] of Object.entries(item)) {
        expect(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']).toContain(method);
        expect(Object.keys(op.responses ?? {}).length, `${method} ${path} responses`).toBeGreaterThan(0);
        // every {param} in the path is declared as a required path parameter
        for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
          expect(op.parameters?.find((p) => p.in === 'path' && p.name === name)?.required).toBe(true);
        }
      }
    }
    for (const ref of refsIn(doc)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.slice('#/components/schemas/'.length)], ref).toBeDefined();
    }
  });

  it('lists the operational routes and the shared error schema with every code', () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) expect(doc.paths[path]?.['get'], path).toBeDefined();
    const error = doc.components.schemas['ErrorResponse'] as { properties: { error: { properties: { code: { enum: string[] } } } } };
    expect(error.properties.error.properties.code.enum).toEqual(
      expect.arrayContaining(['validation_failed', 'malformed_json', 'payload_too_large', 'unsupported_media_type', 'not_found', 'https_required', 'internal_error']) as unknown,
    );
  });

  it("includes a feature module's route with its parameters, strict JSON body and error responses", () => {
    const op = doc.paths['/patients/{patientId}/notes']?.['post'];
    expect(op?.parameters?.map((p) => [p.in, p.name])).toEqual([
      ['path', 'patientId'],
      ['query', 'limit'],
    ]);
    expect(op?.requestBody?.required).toBe(true);
    const schema = op?.requestBody?.content['application/json']?.schema as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(schema.properties)).toEqual(['email', 'text', 'priority', 'tags']);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(op?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '413', '415', '500']) as unknown);
  });
});

describe('GET /docs', async () => {
  const { app } = testApp({ modules: [sampleRoutes, hostile] });
  const doc = (await (await app.request('/openapi.json')).json()) as Doc;
  const res = await app.request('/docs');
  const html = await res.text();

  it('is a server-rendered page without JavaScript or third-party assets', () => {
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).not.toMatch(/<script|javascript:/i);
    expect(html).not.toMatch(/<[^>]*\son\w+=/i); // no event-handler attribute in any tag
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html).toContain('<link rel="stylesheet" href="/docs/style.css">');
    expect(html).toContain('<a href="/openapi.json">');
  });

  it('shows every operation of the document', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        expect(html, `${method} ${path}`).toContain(`<span class="method ${method}">${method.toUpperCase()}</span> <code>${path}</code>`);
      }
    }
    expect(html).toContain('Add a note (test route)');
    expect(html).toContain('id="schema-ErrorResponse"');
  });

  it('escapes text taken from route definitions', () => {
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img src=x');
  });

  it('serves its stylesheet', async () => {
    const css = await app.request('/docs/style.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await css.text()).toContain('.method');
  });
});
