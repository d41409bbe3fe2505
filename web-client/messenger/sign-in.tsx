/**
 * Signing the local app in to the gateway from the page: staff with username, password and the
 * authenticator code; patients with the enrollment code from the clinic. The app does the
 * sign-in (bearer mode) and keeps the session in its encrypted store; nothing stays in the page.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { SessionView, SignInBody } from '../../sdk/messenger-app/api.ts';
import { Field } from '../console/kit/ui.tsx';
import { call } from './local-api.ts';
import { Problem } from './widgets.tsx';

const ENDED: Readonly<Record<string, string>> = {
  logout: 'You signed out.',
  idle: 'You were signed out after a period of inactivity.',
  expired: 'Your session ended.',
  revoked: 'Your session was ended by an administrator.',
};

export function SignIn({ session, onSignedIn }: { session: SessionView; onSignedIn: (s: SessionView) => void }): JSX.Element {
  const [kind, setKind] = useState<SignInBody['kind']>('staff');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = (ev: Event): void => {
    ev.preventDefault();
    const body: SignInBody = kind === 'staff' ? { kind, username, password, totp } : { kind, enrollmentCode: code };
    setBusy(true);
    setError(undefined);
    call<SessionView>('POST', '/api/sign-in', body)
      .then((s) => {
        setPassword('');
        onSignedIn(s);
      })
      .catch((err: unknown) => setError(err))
      .finally(() => setBusy(false));
  };

  return (
    <main class="page narrow">
      <h1>Sign in to secure messages</h1>
      {session.endedReason === null ? null : (
        <p class="notice" role="status" data-testid="ended">
          {ENDED[session.endedReason] ?? 'Your session ended.'} Sign in again to keep messaging.
        </p>
      )}
      {session.gateway === null ? (
        <p class="error" role="alert">
          No gateway is configured. Stop the app and start it again with <code>--url</code>.
        </p>
      ) : (
        <p class="muted">Gateway: {session.gateway}</p>
      )}
      <fieldset class="choice">
        <legend>I am</legend>
        <label>
          <input type="radio" name="kind" checked={kind === 'staff'} onChange={() => setKind('staff')} data-testid="kind-staff" /> clinic staff
        </label>
        <label>
          <input type="radio" name="kind" checked={kind === 'patient'} onChange={() => setKind('patient')} data-testid="kind-patient" /> a patient with an enrollment code
        </label>
      </fieldset>
      <form class="form" onSubmit={submit} data-testid="sign-in-form">
        {kind === 'staff' ? (
          <>
            <Field label="Username">{(id) => <input id={id} autoComplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} data-testid="username" />}</Field>
            <Field label="Password">
              {(id) => <input id={id} type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} data-testid="password" />}
            </Field>
            <Field label="6-digit code from your authenticator app">
              {(id) => <input id={id} inputMode="numeric" autoComplete="one-time-code" required maxLength={64} value={totp} onInput={(e) => setTotp(e.currentTarget.value)} data-testid="totp" />}
            </Field>
          </>
        ) : (
          <Field label="Enrollment code" hint="The code the clinic gave you, e.g. ABCD-EFGH-…; it works once.">
            {(id, describedBy) => <input id={id} aria-describedby={describedBy} autoComplete="off" required maxLength={64} value={code} onInput={(e) => setCode(e.currentTarget.value)} data-testid="enrollment-code" />}
          </Field>
        )}
        <Problem error={error} />
        <button type="submit" class="primary" disabled={busy || session.gateway === null} data-testid="sign-in">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
