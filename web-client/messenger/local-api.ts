/**
 * Calls from the messenger page to the local app that served it (same origin, 127.0.0.1): the
 * launch cookie rides along by itself; every call but GET /api/session also carries the page's
 * token in a header, which another local page cannot read. Errors come back as ApiError with the
 * app's code and a message that already says what to do.
 */
import { TOKEN_HEADER, type SessionView } from '../../sdk/messenger-app/api.ts';
import { ApiError } from '../shared/api.ts';

export { ApiError };

let token = '';

/** Read the session (and the token for later calls). 401: the page was not opened from a launch link. */
export async function loadSession(): Promise<SessionView> {
  const session = await call<SessionView>('GET', '/api/session');
  token = session.csrfToken;
  return session;
}

export function currentToken(): string {
  return token;
}

async function fail(res: Response): Promise<never> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const error = typeof body === 'object' && body !== null ? (body as { error?: Record<string, unknown> }).error : undefined;
  if (typeof error?.['code'] === 'string') throw new ApiError(res.status, error['code'], typeof error['message'] === 'string' ? error['message'] : error['code'], error);
  throw new ApiError(res.status, `http_${res.status}`, `The messenger app answered ${res.status}. Reload the page.`);
}

async function send(method: string, path: string, body: BodyInit | null, headers: Record<string, string>): Promise<Response> {
  try {
    return await fetch(path, { method, headers: { accept: 'application/json', [TOKEN_HEADER]: token, ...headers }, body, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'app_unreachable', 'The messenger app is not running. Start `telehealth messenger` again and open the new link it prints.');
  }
}

export async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body === undefined ? null : JSON.stringify(body), body === undefined ? {} : { 'content-type': 'application/json' });
  if (!res.ok) return fail(res);
  return (await res.json()) as T;
}

/** Upload a file's bytes (the app encrypts them before they leave this machine). */
export async function uploadFile<T>(file: File): Promise<T> {
  const res = await send('POST', '/api/uploads', file, { 'content-type': 'application/octet-stream', 'x-file-name': encodeURIComponent(file.name), 'x-file-type': file.type });
  if (!res.ok) return fail(res);
  return (await res.json()) as T;
}

/** Download a decrypted attachment as a Blob. */
export async function downloadFile(path: string): Promise<Blob> {
  const res = await send('GET', path, null, {});
  if (!res.ok) return fail(res);
  return res.blob();
}
