/**
 * Every problem the gateway reported per field of a 400 (`fields` of the error body), keyed by
 * the last path segment. A weak password comes back as several messages on the same field
 * (too short, too common, a suggestion); the admin needs all of them, not only the last.
 */
import { ApiError } from '../../shared/api.ts';

export function allFieldProblems(err: unknown): Readonly<Record<string, string>> {
  if (!(err instanceof ApiError)) return {};
  const fields = err.extra['fields'];
  if (!Array.isArray(fields)) return {};
  const out: Record<string, string[]> = {};
  for (const f of fields as unknown[]) {
    if (typeof f !== 'object' || f === null) continue;
    const { path, message } = f as { path?: unknown; message?: unknown };
    if (typeof path !== 'string' || typeof message !== 'string') continue;
    const key = path.split('.').pop() ?? path;
    (out[key] ??= []).push(message);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.join(' ')]));
}
