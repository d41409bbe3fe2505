/**
 * Shared OpenAPI pieces for route modules: the error body schema every operation can answer
 * with, ready-made error responses, and `jsonBody()` for request bodies.
 *
 * Route authors: use `jsonBody(z.strictObject({...}))` so unknown fields are rejected, the body
 * is required (without `required: true`, @hono/zod-openapi passes `{}` unvalidated to the handler
 * when no JSON is sent) and strings/arrays carry `.max()` bounds.
 */
import { z } from '@hono/zod-openapi';
import type { ZodType } from 'zod';
import { ALL_ERROR_CODES, ERROR_CODE_DOCS } from '../http/error-codes.ts';

export const FieldErrorSchema = z
  .object({
    path: z.string().openapi({ example: 'body.email' }),
    message: z.string().openapi({ example: 'Invalid input: expected string, received number' }),
  })
  .openapi('FieldError');

const codeList = ALL_ERROR_CODES.map((code) => `- \`${code}\` — ${ERROR_CODE_DOCS[code]}`).join('\n');

export const ErrorResponseSchema = z
  .object({
    error: z.object({
      code: z.enum(ALL_ERROR_CODES).openapi({ description: `Stable machine-readable code:\n${codeList}` }),
      message: z.string().openapi({ description: 'Human-readable; never contains PHI, secrets or internals.' }),
      fields: z.array(FieldErrorSchema).optional().openapi({ description: 'Present for validation_failed.' }),
      requestId: z.string().openapi({ description: 'Also in the X-Request-Id header; quote it when reporting a problem.' }),
      opensAt: z.string().optional().openapi({ description: 'Present for link_not_yet_valid: when the visit link starts working.' }),
    }),
  })
  .openapi('ErrorResponse', { description: 'Every error response has this shape.' });

export function errorResponse(description: string) {
  return { description, content: { 'application/json': { schema: ErrorResponseSchema } } } as const;
}

/** Errors any operation with a JSON request body can return, besides its own. */
export const jsonBodyErrors = {
  400: errorResponse('`malformed_json` or `validation_failed` (with `fields`)'),
  413: errorResponse('`payload_too_large`'),
  415: errorResponse('`unsupported_media_type`: Content-Type missing or not application/json'),
} as const;

/** Errors every operation can return. */
export const commonErrors = {
  500: errorResponse('`internal_error`: bare, carries only the request id'),
} as const;

/** Errors every session-guarded operation can return (spread first, then add or override). */
export const guardedErrors = {
  401: errorResponse('`unauthorized` (no credential sent) or `session_invalid` (ended, expired or unknown session)'),
  403: errorResponse('`forbidden` (refused by the access policy; audited) or `csrf_failed`'),
  404: errorResponse('`not_found`'),
  ...commonErrors,
} as const;

/** A required JSON request body validated by `schema`. */
export function jsonBody<S extends ZodType>(schema: S, description?: string) {
  return {
    required: true,
    ...(description === undefined ? {} : { description }),
    content: { 'application/json': { schema } },
  } as const;
}
