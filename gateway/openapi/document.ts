/**
 * The OpenAPI 3.1 document, generated from the zod route schemas registered on the app. Built
 * once on first use (all modules have registered by then) and reused: generation walks every
 * schema and is far too slow to repeat per request.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../app-env.ts';

export type OpenApiDocument = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

export const API_TITLE = 'Telehealth gateway API';
export const API_VERSION = '0.1.0';

const DESCRIPTION = [
  'Secure patient messaging and telehealth video gateway.',
  'Every error response has the `ErrorResponse` shape and carries the request id (also in the X-Request-Id header).',
  'Request bodies are JSON (Content-Type: application/json), limited to BODY_LIMIT_BYTES; unknown fields are rejected.',
].join('\n\n');

export function documentSource(app: OpenAPIHono<AppEnv>): () => OpenApiDocument {
  let cached: OpenApiDocument | undefined;
  return () => {
    cached ??= app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: { title: API_TITLE, version: API_VERSION, description: DESCRIPTION },
    });
    return cached;
  };
}
