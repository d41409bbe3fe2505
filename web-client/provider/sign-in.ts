/**
 * Staff sign-in for the provider console: username + password, then the authenticator code,
 * into a cookie session. Only the CSRF token (not a credential on its own) is kept, in memory.
 */
import { api, ApiError } from '../shared/api.ts';
import { byId, showError, showScreen, showState } from '../shared/dom.ts';

interface SessionInfo {
  readonly kind: string;
  readonly role: string | null;
  readonly csrfToken: string;
}

/** The current staff session, if this browser already holds one. */
export async function currentSession(): Promise<SessionInfo | undefined> {
  try {
    const s = await api<SessionInfo>('/auth/session');
    return s.kind === 'staff' ? s : undefined;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 404)) return undefined;
    throw err;
  }
}

const MESSAGES: Readonly<Record<string, string>> = {
  invalid_credentials: 'Username, password or code is not correct.',
  too_many_attempts: 'Too many attempts. Wait a few minutes, then try again.',
  rate_limited: 'Too many attempts. Wait a few minutes, then try again.',
  invalid_code: 'The 6-digit code is not correct, or was already used. Wait for the next code.',
  challenge_invalid: 'Sign-in took too long. Please start again.',
  mfa_not_enrolled: 'Set up your authenticator app first (ask your administrator).',
  validation_failed: 'Check the username, password and 6-digit code.',
  network_error: 'You appear to be offline. Check your connection.',
};

export function signIn(): Promise<SessionInfo> {
  showState('signed-out');
  showScreen('screen-sign-in');
  const form = byId('sign-in-form', HTMLFormElement);
  const button = byId('sign-in', HTMLButtonElement);
  return new Promise((resolve) => {
    const submit = async (): Promise<void> => {
      const username = byId('username', HTMLInputElement).value.trim();
      const password = byId('password', HTMLInputElement).value;
      const code = byId('code', HTMLInputElement).value.trim();
      if (username === '' || password === '' || !/^\d{6}$/.test(code)) return showError(MESSAGES['validation_failed']);
      const step1 = await api<{ next: 'mfa' | 'enroll'; challenge: string }>('/auth/login', { body: { username, password } });
      if (step1.next === 'enroll') return showError('Set up your authenticator app first (ask your administrator), then sign in here.');
      const done = await api<{ session: SessionInfo }>('/auth/mfa', { body: { challenge: step1.challenge, code, mode: 'cookie' } });
      byId('password', HTMLInputElement).value = '';
      byId('code', HTMLInputElement).value = '';
      showError(undefined);
      resolve(done.session);
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      button.disabled = true;
      submit()
        .catch((err: unknown) => {
          console.warn('sign-in failed', err);
          showError((err instanceof ApiError ? MESSAGES[err.code] : undefined) ?? 'Sign-in failed. Try again.');
        })
        .finally(() => (button.disabled = false));
    });
  });
}

export async function signOut(csrfToken: string): Promise<void> {
  await api('/auth/logout', { method: 'POST', csrfToken });
}
