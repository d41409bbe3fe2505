/**
 * Gateway errors in words a clinic user can act on: what happened and what to do next. Views
 * pass their own messages for the codes only they know; everything else falls back to these.
 */
import { ApiError } from '../../shared/api.ts';

const COMMON: Readonly<Record<string, string>> = {
  network_error: 'The gateway cannot be reached. Check your connection, then try again; nothing was saved.',
  validation_failed: 'Some fields are not valid. Correct the marked fields and try again.',
  forbidden: 'Your role may not do this. Ask an administrator if you need access.',
  not_found: 'That record no longer exists. Reload the list.',
  conflict: 'Someone changed this at the same time. Reload and try again.',
  rate_limited: 'Too many requests. Wait a minute, then try again.',
  csrf_failed: 'Your session could not be confirmed. Reload the page.',
  unauthorized: 'Your session ended. Sign in again; nothing you had not saved was sent.',
  session_invalid: 'Your session ended. Sign in again; nothing you had not saved was sent.',
  service_unavailable: 'A service the gateway needs is down. Try again in a minute; nothing was lost.',
  payload_too_large: 'That is more than the gateway accepts in one request. Make it smaller and try again.',
  phi_detected: 'The text contains something that looks like patient information. Remove it and try again.',
};

export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

export function describeError(err: unknown, own: Readonly<Record<string, string>> = {}): string {
  if (err instanceof ApiError) {
    const text = own[err.code] ?? COMMON[err.code];
    if (text !== undefined) return text;
    if (err.status >= 500) return 'The gateway had a problem. Try again in a minute; if it keeps happening, tell your administrator.';
    return `${err.message}. Check the form and try again.`;
  }
  return 'Something went wrong in this page. Reload it and try again.';
}

/** The per-field problems of a 400 (`fields` of the error body), keyed by the last path segment; several for one field are joined. */
export function fieldProblems(err: unknown): Readonly<Record<string, string>> {
  if (!(err instanceof ApiError)) return {};
  const fields = err.extra['fields'];
  if (!Array.isArray(fields)) return {};
  const out: Record<string, string> = {};
  for (const f of fields as unknown[]) {
    if (typeof f !== 'object' || f === null) continue;
    const { path, message } = f as Partial<FieldProblem>;
    if (typeof path !== 'string' || typeof message !== 'string') continue;
    const key = path.split('.').pop() ?? path;
    out[key] = out[key] === undefined ? message : `${out[key]} ${message}`;
  }
  return out;
}
