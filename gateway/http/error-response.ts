/**
 * The one error body shape: `{error:{code, message, fields?, requestId}}`. Every error response
 * is built here so the request id (to quote when reporting a problem) is never missing.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorExtraValue, FieldError } from '../../core/errors.ts';
import type { AppEnv } from '../app-env.ts';

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly fields?: readonly FieldError[];
    readonly requestId: string;
  };
}

export function errorResponse(
  c: Context<AppEnv>,
  status: number,
  code: string,
  message: string,
  fields?: readonly FieldError[],
  extra?: Readonly<Record<string, ErrorExtraValue>>,
): Response {
  const safeStatus = (status >= 400 && status <= 599 ? status : 500) as ContentfulStatusCode;
  const body: ErrorBody = {
    error: { ...extra, code, message, ...(fields !== undefined && fields.length > 0 ? { fields } : {}), requestId: c.get('requestId') },
  };
  return c.json(body, safeStatus);
}
