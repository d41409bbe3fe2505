import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { createRoute, z } from '@hono/zod-openapi';
import { loadConfig } from '../core/config/load.ts';
import { createLogger } from '../core/log/logger.ts';
import { createApp, createLifecycle, type RouteModule } from './app.ts';
import { jsonBody, jsonBodyErrors } from './openapi/schemas.ts';

const lines: string[] = [];
const log = createLogger({ level: 'info', destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) });
const mod: RouteModule = (app) => {
  app.openapi(createRoute({ method: 'post', path: '/things/{id}', request: { params: z.object({ id: z.string().max(10) }), query: z.object({ limit: z.coerce.number().int().max(5).optional() }), body: jsonBody(z.strictObject({ email: z.string().email(), n: z.number() })) }, responses: { 200: { description: 'ok', content: { 'application/json': { schema: z.object({ ok: z.boolean() }) } } }, ...jsonBodyErrors } }), (c) => {
    c.req.valid('json');
    return c.json({ ok: true }, 200);
  });
  app.get('/boom', () => { throw new Error('secret internal detail'); });
};
const app = createApp({ config: loadConfig({ APP_ENV: 'test' }), log, health: [], metrics: new Registry(), lifecycle: createLifecycle() }, [mod]);
const show = async (r: Response) => console.log(r.status, JSON.stringify(Object.fromEntries(r.headers)), (await r.text()).slice(0, 300));
await show(await app.request('/things/abc?limit=2', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@b.co', n: 1 }) }));
await show(await app.request('/things/abc?limit=9', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'nope', n: '1', extra: 1 }) }));
await show(await app.request('/things/abc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad' }));
await show(await app.request('/things/abc', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }));
await show(await app.request('/things/abc', { method: 'POST', body: '{}' }));
await show(await app.request('/nope'));
await show(await app.request('/boom'));
await show(await app.request('/healthz'));
await show(await app.request('/readyz'));
await show(await app.request('/openapi.json'));
await show(await app.request('/docs'));
console.log(lines.join(''));
