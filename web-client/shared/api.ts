/**
 * JSON calls to the gateway from the pages: same origin, the session rides in the HttpOnly
 * cookie, state-changing calls carry the session's CSRF token. Errors come back as ApiError with
 * the gateway's error code (`{error:{code,message,...}}`), or `network_error` / `http_<status>`
 * when the response was not one of ours.
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Extra client-safe fields of the error body (e.g. `opensAt`). */
  readonly extra: Readonly<Record<string, unknown>>;
  constructor(status: number, code: string, message: string, extra: Readonly<Record<string, unknown>> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

export interface CallOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly body?: unknown;
  readonly csrfToken?: string;
}

export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.csrfToken !== undefined) headers['x-csrf-token'] = options.csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? null : JSON.stringify(options.body),
    });
  } catch (err) {
    throw new ApiError(0, 'network_error', err instanceof Error ? err.message : 'network error');
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (res.ok) return parsed as T;
  const error = typeof parsed === 'object' && parsed !== null ? (parsed as { error?: unknown }).error : undefined;
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
    const e = error as Record<string, unknown> & { code: string; message?: unknown };
    throw new ApiError(res.status, e.code, typeof e.message === 'string' ? e.message : e.code, e);
  }
  throw new ApiError(res.status, `http_${res.status}`, `request failed (${res.status})`);
}
