/**
 * Automatic logoff, the user's side (HIPAA 164.312(a)(2)(iii)). The page asks the gateway how
 * long the session has left (`GET /auth/session` does not count as activity) and, shortly before
 * the idle timeout, opens a dialog with a countdown: "Stay signed in" restarts the idle timer
 * (`POST /auth/session/extend`), "Sign out now" ends it. If the time runs out — or the session
 * ended some other way — the console is replaced by the signed-out screen. The gateway enforces
 * the timeout either way; this only makes it visible.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../../shared/api.ts';
import { useConsole, type SessionInfo, type SignedOutReason } from '../kit/session.ts';
import { Dialog } from '../kit/ui.tsx';

/** Warn this long before idle expiry, or at half the idle time for very short timeouts. */
const WARN_MS = 60_000;
/** Never wait longer than this between checks (activity in another tab moves the deadline). */
const MAX_POLL_MS = 30_000;

export function IdleWarning({ onEnded }: { onEnded: (reason: SignedOutReason) => void }): JSX.Element {
  const { session, call, signOut } = useConsole();
  const [left, setLeft] = useState<number | undefined>(undefined);
  const full = useRef(session.idleMs);
  const deadline = useRef(Date.now() + session.idleMs);
  const warnAt = Math.min(WARN_MS, Math.floor(full.current / 2));

  useEffect(() => {
    let timer: number | undefined;
    let live = true;
    const check = async (): Promise<void> => {
      try {
        const info = await api<SessionInfo>('/auth/session');
        full.current = Math.max(full.current, info.idleMs);
        deadline.current = Date.now() + Math.min(info.idleMs, info.absoluteMs);
      } catch (err) {
        // Gone: idle if our countdown ran out, otherwise ended elsewhere (revoked, logged out in
        // another tab). Anything else (offline): keep counting locally and look again.
        if (err instanceof ApiError && err.status === 401) {
          if (live) onEnded(deadline.current - Date.now() <= 1_000 ? 'idle' : 'expired');
          return;
        }
      }
      if (!live) return;
      const remaining = deadline.current - Date.now();
      if (remaining <= warnAt) {
        setLeft(remaining);
        timer = window.setTimeout(() => void check(), Math.max(250, Math.min(remaining + 250, 5_000)));
      } else {
        setLeft(undefined);
        timer = window.setTimeout(() => void check(), Math.min(remaining - warnAt, MAX_POLL_MS));
      }
    };
    void check();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [onEnded, warnAt]);

  // The visible countdown ticks locally between checks.
  useEffect(() => {
    if (left === undefined) return;
    const t = window.setInterval(() => setLeft(Math.max(0, deadline.current - Date.now())), 1_000);
    return () => window.clearInterval(t);
  }, [left === undefined]);

  const stay = async (): Promise<void> => {
    const info = await call<SessionInfo>('/auth/session/extend', { method: 'POST' });
    deadline.current = Date.now() + Math.min(info.idleMs, info.absoluteMs);
    setLeft(undefined);
  };

  const seconds = left === undefined ? 0 : Math.ceil(left / 1000);
  return (
    <Dialog open={left !== undefined} title="Are you still there?" onCancel={() => void stay()} testId="idle-warning" role="alertdialog">
      <p>
        For patients’ privacy you will be signed out in <strong data-testid="idle-seconds">{seconds}</strong> seconds unless you continue.
      </p>
      <div class="row">
        <button type="button" class="primary" data-testid="stay-signed-in" onClick={() => void stay().catch(() => undefined)}>
          Stay signed in
        </button>
        <button type="button" data-testid="sign-out-now" onClick={() => void signOut().catch(() => undefined)}>
          Sign out now
        </button>
      </div>
    </Dialog>
  );
}
