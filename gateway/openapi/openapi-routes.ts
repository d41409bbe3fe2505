/**
 * GET /openapi.json (the OpenAPI 3.1 document generated from the zod route schemas), GET /docs
 * (the same document as a readable HTML page) and GET /docs/style.css. Register last-or-anywhere:
 * the document is generated lazily on the first request, after every module has registered.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { RouteModule } from '../route-module.ts';
import { DOCS_CSP, renderDocsPage } from './docs-page.ts';
import { DOCS_CSS } from './docs-style.ts';
import { documentSource } from './document.ts';
import { commonErrors } from './schemas.ts';

const OPENAPI_PATH = '/openapi.json';
const STYLESHEET_PATH = '/docs/style.css';

const openapiJson = createRoute({
  method: 'get',
  path: OPENAPI_PATH,
  tags: ['documentation'],
  summary: 'This API as an OpenAPI 3.1 document',
  responses: {
    200: { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } },
    ...commonErrors,
  },
});

const docsPage = createRoute({
  method: 'get',
  path: '/docs',
  tags: ['documentation'],
  summary: 'This API as a readable page',
  responses: { 200: { description: 'HTML reference, no JavaScript', content: { 'text/html': { schema: z.string() } } }, ...commonErrors },
});

const docsStyle = createRoute({
  method: 'get',
  path: STYLESHEET_PATH,
  tags: ['documentation'],
  summary: 'Stylesheet of the docs page',
  responses: { 200: { description: 'CSS', content: { 'text/css': { schema: z.string() } } }, ...commonErrors },
});

export const openApiRoutes: RouteModule = (app) => {
  const document = documentSource(app);
  let page: string | undefined;

  app.openapi(openapiJson, (c) => c.json(document(), 200));

  app.openapi(docsPage, (c) => {
    page ??= renderDocsPage(document(), OPENAPI_PATH, STYLESHEET_PATH);
    return c.html(page, 200, { 'Content-Security-Policy': DOCS_CSP });
  });

  app.openapi(docsStyle, (c) => c.body(DOCS_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' }));
};
