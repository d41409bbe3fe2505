/**
 * A small JSON client for the gateway's HTTP API as any outside client sees it (bearer tokens,
 * `{error:{code,message}}` answers), timing every call. Responses are checked with zod where the
 * harness reads them, so a changed contract fails loudly instead of skewing the numbers.
 */
import type { z } from 'zod';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export interface Call {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly token?: string;
  readonly body?: unknown;
}

export interface Answer<T> {
  readonly status: number;
  readonly body: T;
  readonly ms: number;
}

const TIMEOUT_MS = 30_000;

function errorOf(status: number, json: unknown, call: Call): ApiError {
  const e = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof e?.code === 'string' ? e.code : `http_${status}`;
  const message = typeof e?.message === 'string' ? e.message : `the gateway answered ${status}`;
  return new ApiError(status, code, `${call.method} ${call.path}: ${status} ${code}: ${message}`);
}

/** One call; a non-2xx answer throws ApiError. `schema` null: the body is not read (e.g. 204). */
export async function api<S extends z.ZodType>(baseUrl: string, call: Call, schema: S): Promise<Answer<z.infer<S>>>;
export async function api(baseUrl: string, call: Call, schema: null): Promise<Answer<undefined>>;
export async function api(baseUrl: string, call: Call, schema: z.ZodType | null): Promise<Answer<unknown>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  if (call.token !== undefined) headers.authorization = `Bearer ${call.token}`;
  const t0 = performance.now();
  const res = await fetch(new URL(call.path, baseUrl), {
    method: call.method,
    headers,
    body: call.body === undefined ? null : JSON.stringify(call.body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  let json: unknown = undefined;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON: reported as the status alone below, or refused by the schema.
      json = undefined;
    }
  }
  if (!res.ok) throw errorOf(res.status, json, call);
  if (schema === null) return { status: res.status, body: undefined, ms };
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ApiError(res.status, 'unexpected_response', `${call.method} ${call.path}: unexpected response shape`);
  return { status: res.status, body: parsed.data, ms };
}
