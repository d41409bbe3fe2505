/**
 * @hono/zod-openapi's defaultHook: a failed zod parse of any request part becomes AppError 400
 * `validation_failed` with one `{path, message}` per problem. Paths are prefixed with the part
 * as createRoute names it (`body.email`, `query.limit`, `params.id`, `headers.x-foo`). Unknown
 * keys rejected by strict objects are listed one field each. zod's messages describe the
 * expectation, never echo the value, so nothing sent is reflected back beyond key names.
 * A JSON operation called without any Content-Type is a 415, not a list of missing fields.
 */
import type { Hook } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import { AppError, ErrorCode, type FieldError } from '../../core/errors.ts';
import type { AppEnv } from '../app-env.ts';

const PART: Readonly<Record<string, string>> = {
  json: 'body',
  form: 'body',
  query: 'query',
  param: 'params',
  header: 'headers',
  cookie: 'cookies',
};

/** Bounds on what we echo: a hostile body could hold thousands of bad keys. */
const MAX_FIELDS = 50;
const MAX_PATH_CHARS = 200;

function joinPath(prefix: string, segments: readonly PropertyKey[]): string {
  let out = prefix;
  for (const s of segments) out += `.${typeof s === 'symbol' ? s.description ?? '' : String(s)}`;
  return out.length > MAX_PATH_CHARS ? `${out.slice(0, MAX_PATH_CHARS)}…` : out;
}

export function fieldErrors(part: string, error: ZodError): FieldError[] {
  const prefix = PART[part] ?? part;
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: joinPath(prefix, [...issue.path, key]), message: 'Unknown field' });
    } else {
      out.push({ path: joinPath(prefix, issue.path), message: issue.message });
    }
    if (out.length >= MAX_FIELDS) break;
  }
  return out.slice(0, MAX_FIELDS);
}

export const validationHook: Hook<unknown, AppEnv, string, undefined> = (result, c) => {
  if (!result.success) {
    // The JSON validator only parses bodies labelled JSON; an unlabelled request reaches here as {}.
    if (result.target === 'json' && c.req.header('content-type') === undefined) {
      throw new AppError(415, ErrorCode.unsupportedMediaType, 'Content-Type must be application/json');
    }
    throw new AppError(400, ErrorCode.validation, 'Request validation failed', { fields: fieldErrors(result.target, result.error) });
  }
  return undefined;
};
