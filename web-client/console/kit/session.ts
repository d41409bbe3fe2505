/**
 * The signed-in staff session as the console sees it, and the context every view reads it from:
 * `call` is the one way views talk to the gateway (same-origin JSON, CSRF token on writes), and a
 * 401 from any call ends the console session with the reason, so an expired session mid-form
 * always lands on the signed-out screen instead of failing silently.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { api, ApiError, type CallOptions } from '../../shared/api.ts';

export const STAFF_ROLES = ['provider', 'scheduler', 'admin', 'auditor', 'privacy_officer'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export interface StaffSession {
  readonly id: string;
  readonly userId: string;
  readonly role: StaffRole;
  readonly csrfToken: string;
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly expiresAt: string;
}

/** What the gateway answers on /auth/session and inside sign-in responses. */
export interface SessionInfo {
  readonly id: string;
  readonly kind: string;
  readonly userId: string;
  readonly role: string | null;
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly expiresAt: string;
  readonly csrfToken: string;
}

export function asStaffSession(info: SessionInfo): StaffSession | undefined {
  const role = STAFF_ROLES.find((r) => r === info.role);
  if (info.kind !== 'staff' || role === undefined) return undefined;
  return { id: info.id, userId: info.userId, role, csrfToken: info.csrfToken, idleMs: info.idleMs, absoluteMs: info.absoluteMs, expiresAt: info.expiresAt };
}

/** Why the console is signed out: shown on the signed-out screen. */
export type SignedOutReason = 'signed-out' | 'idle' | 'expired';

export interface ConsoleContextValue {
  readonly session: StaffSession;
  /** Gateway JSON call; writes carry the CSRF token; a 401 ends the console session. */
  call: <T>(path: string, options?: CallOptions) => Promise<T>;
  /** A raw same-origin GET (CSV / JSON Lines downloads); a 401 ends the console session. */
  download: (path: string) => Promise<Blob>;
  signOut: () => Promise<void>;
  /** The gateway rotated the session (break-glass): carry on with the new id and CSRF token. */
  renew: (info: SessionInfo) => void;
}

export const ConsoleContext = createContext<ConsoleContextValue | undefined>(undefined);

export function useConsole(): ConsoleContextValue {
  const value = useContext(ConsoleContext);
  if (value === undefined) throw new Error('useConsole outside a signed-in console');
  return value;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function makeContext(session: StaffSession, onEnded: (reason: SignedOutReason) => void, onRenewed: (session: StaffSession) => void): ConsoleContextValue {
  const guard = (err: unknown): never => {
    // 401 `invalid_credentials` is a failed re-authentication (break-glass, new recovery codes):
    // the session itself is fine. Every other 401 means the session is gone.
    if (err instanceof ApiError && err.status === 401 && err.code !== 'invalid_credentials') onEnded('expired');
    throw err;
  };
  return {
    session,
    async call<T>(path: string, options: CallOptions = {}): Promise<T> {
      const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
      try {
        return await api<T>(path, { ...options, method, ...(WRITES.has(method) ? { csrfToken: session.csrfToken } : {}) });
      } catch (err) {
        return guard(err);
      }
    },
    async download(path: string): Promise<Blob> {
      let res: Response;
      try {
        res = await fetch(path, { credentials: 'same-origin' });
      } catch (err) {
        throw new ApiError(0, 'network_error', err instanceof Error ? err.message : 'network error');
      }
      if (res.status === 401) guard(new ApiError(401, 'unauthenticated', 'Session ended'));
      if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, `download failed (${res.status})`);
      return res.blob();
    },
    renew(info: SessionInfo): void {
      const next = asStaffSession(info);
      if (next === undefined) onEnded('expired');
      else onRenewed(next);
    },
    async signOut(): Promise<void> {
      try {
        await api('/auth/logout', { method: 'POST', csrfToken: session.csrfToken });
      } finally {
        onEnded('signed-out');
      }
    },
  };
}
