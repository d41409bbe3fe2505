import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { createRoute, z } from '@hono/zod-openapi';
import { loadConfig } from '../core/config/load.ts';
import { createLogger } from '../core/log/logger.ts';
import { createApp, createLifecycle, type RouteModule } from './app.ts';
import { jsonBody, jsonBodyErrors } from './openapi/schemas.ts';

const log = createLogger({ level: 'info', destination: new Writable({ write(_c, _e, cb) { cb(); } }) });
const mod: RouteModule = (app) => {
  app.openapi(createRoute({ method: 'post', path: '/things/{id}', request: { params: z.object({ id: z.string().max(10) }), body: jsonBody(z.strictObject({ email: z.string().email(), n: z.number(), tags: z.array(z.string().max(3)).max(2) })) }, responses: { 200: { description: 'ok', content: { 'application/json': { schema: z.object({ ok: z.boolean() }) } } }, ...jsonBodyErrors } }), (c) => {
    c.req.valid('json');
    return c.json({ ok: true }, 200);
  });
};
const app = createApp({ config: loadConfig({ APP_ENV: 'test' }), log, health: [], metrics: new Registry(), lifecycle: createLifecycle() }, [mod]);
const show = async (r: Response) => console.log(r.status, (await r.text()).slice(0, 600));
await show(await app.request('/things/abc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'nope', n: '1', extra: 1, tags: ['abcd', 'x', 'y'] }) }));
await show(await app.request('/things/abc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1]' }));
await show(await app.request('/things/abc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' }));
await show(await app.request('/things/abc', { method: 'POST', headers: { 'content-type': 'application/json' } }));
await show(await app.request('/things/abc', { method: 'POST' }));
const r = await app.request('/openapi.json');
console.log(JSON.stringify(await r.json(), null, 1).slice(0, 6000));
