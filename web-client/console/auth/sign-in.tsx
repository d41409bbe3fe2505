/**
 * Staff sign-in: username and password, then either the 6-digit authenticator code (or a
 * one-time recovery code), or — on a first sign-in — authenticator enrollment with a QR code.
 * Failure messages stay generic (the gateway's are), and say what to do next.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../../shared/api.ts';
import { asStaffSession, type SessionInfo, type StaffSession } from '../kit/session.ts';
import { ErrorNote, Field } from '../kit/ui.tsx';
import { Enroll } from './enroll.tsx';
import { SIGN_IN_MESSAGES } from './messages.ts';


type Step = { readonly name: 'password' } | { readonly name: 'code'; readonly challenge: string } | { readonly name: 'enroll'; readonly challenge: string };

export interface SignInProps {
  onSignedIn: (session: StaffSession, recoveryCodes?: readonly string[]) => void;
  onUnsupported: () => void;
}

export function SignIn(props: SignInProps): JSX.Element {
  const [step, setStep] = useState<Step>({ name: 'password' });
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [useRecovery, setUseRecovery] = useState(false);

  const finish = (info: SessionInfo, codes?: readonly string[]): void => {
    const s = asStaffSession(info);
    if (s === undefined) props.onUnsupported();
    else props.onSignedIn(s, codes);
  };
  const run = (fn: () => Promise<void>) => (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    fn()
      .then(() => setError(undefined))
      .catch((err: unknown) => setError(err))
      .finally(() => setBusy(false));
  };

  if (step.name === 'enroll') return <Enroll challenge={step.challenge} onEnrolled={finish} onRestart={() => setStep({ name: 'password' })} />;

  return (
    <main class="page narrow">
      <h1>Clinic console</h1>
      <ErrorNote error={error} own={SIGN_IN_MESSAGES} />
      {step.name === 'password' ? (
        <form
          class="form"
          aria-labelledby="sign-in-title"
          data-testid="sign-in-form"
          onSubmit={run(async () => {
            const data = new FormData(formById('sign-in-form'));
            const r = await api<{ next: 'mfa' | 'enroll'; challenge: string }>('/auth/login', {
              body: { username: formText(data, 'username').trim(), password: formText(data, 'password') },
            });
            setStep(r.next === 'enroll' ? { name: 'enroll', challenge: r.challenge } : { name: 'code', challenge: r.challenge });
          })}
          id="sign-in-form"
        >
          <h2 id="sign-in-title">Sign in</h2>
          <Field label="Username">{(id) => <input id={id} name="username" data-testid="username" autoComplete="username" required maxLength={64} />}</Field>
          <Field label="Password">{(id) => <input id={id} name="password" data-testid="password" type="password" autoComplete="current-password" required maxLength={256} />}</Field>
          <button type="submit" class="primary" data-testid="sign-in" disabled={busy}>
            Continue
          </button>
        </form>
      ) : (
        <form
          class="form"
          id="code-form"
          aria-labelledby="code-title"
          data-testid="code-form"
          onSubmit={run(async () => {
            const value = formText(new FormData(formById('code-form')), 'code').trim();
            const body = useRecovery ? { challenge: step.challenge, recoveryCode: value, mode: 'cookie' } : { challenge: step.challenge, code: value, mode: 'cookie' };
            const r = await api<{ session: SessionInfo }>('/auth/mfa', { body });
            finish(r.session);
          })}
        >
          <h2 id="code-title">{useRecovery ? 'Enter a recovery code' : 'Enter your authenticator code'}</h2>
          <Field label={useRecovery ? 'Recovery code' : '6-digit code'} hint={useRecovery ? 'Each recovery code works once.' : 'From the authenticator app you set up.'}>
            {(id, describedBy) =>
              useRecovery ? (
                <input key="recovery" id={id} name="code" data-testid="recovery-code" autoComplete="off" required maxLength={32} aria-describedby={describedBy} />
              ) : (
                <input key="totp" id={id} name="code" data-testid="code" inputMode="numeric" pattern="[0-9]{6}" maxLength={6} autoComplete="one-time-code" required aria-describedby={describedBy} />
              )
            }
          </Field>
          <button type="submit" class="primary" data-testid="verify" disabled={busy}>
            Sign in
          </button>
          <button type="button" class="link" data-testid="toggle-recovery" onClick={() => setUseRecovery(!useRecovery)}>
            {useRecovery ? 'Use the authenticator app instead' : 'Lost your phone? Use a recovery code'}
          </button>
          <button type="button" class="link" onClick={() => setStep({ name: 'password' })}>
            Start again
          </button>
        </form>
      )}
    </main>
  );
}

function formById(id: string): HTMLFormElement {
  const f = document.getElementById(id);
  if (!(f instanceof HTMLFormElement)) throw new Error(`missing form #${id}`);
  return f;
}

function formText(data: FormData, name: string): string {
  const v = data.get(name);
  return typeof v === 'string' ? v : '';
}
