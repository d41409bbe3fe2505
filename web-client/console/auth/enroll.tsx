/**
 * First sign-in: the gateway issues a TOTP secret; the page shows it as a QR code (rendered in
 * the browser by the `qrcode` library into an image, never sent anywhere) and as text to type,
 * then confirms with a code, which signs in and returns the one-time recovery codes.
 */
import type { JSX } from 'preact';
import QRCode from 'qrcode';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api.ts';
import type { SessionInfo } from '../kit/session.ts';
import { ErrorNote, Field } from '../kit/ui.tsx';
import { SIGN_IN_MESSAGES } from './messages.ts';

interface Secret {
  readonly secret: string;
  readonly otpauthUri: string;
}

export function Enroll(props: { challenge: string; onEnrolled: (session: SessionInfo, codes: readonly string[]) => void; onRestart: () => void }): JSX.Element {
  const [secret, setSecret] = useState<Secret | undefined>(undefined);
  const [qr, setQr] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<Secret>('/auth/mfa/enroll', { body: { challenge: props.challenge } })
      .then(async (s) => {
        setSecret(s);
        const svg = await QRCode.toString(s.otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
        setQr(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`);
      })
      .catch((err: unknown) => setError(err));
  }, [props.challenge]);

  const confirm = (ev: Event): void => {
    ev.preventDefault();
    setBusy(true);
    api<{ session: SessionInfo; recoveryCodes: string[] }>('/auth/mfa/enroll/confirm', { body: { challenge: props.challenge, code: code.trim(), mode: 'cookie' } })
      .then((r) => props.onEnrolled(r.session, r.recoveryCodes))
      .catch((err: unknown) => setError(err))
      .finally(() => setBusy(false));
  };

  return (
    <main class="page narrow">
      <h1>Set up your authenticator</h1>
      <p>Every staff account signs in with a second factor. Scan the code with an authenticator app (or type the key), then enter the 6-digit code it shows.</p>
      <ErrorNote error={error} own={SIGN_IN_MESSAGES} />
      {secret === undefined ? (
        <p class="muted">Preparing…</p>
      ) : (
        <form class="form" onSubmit={confirm} data-testid="enroll-form">
          {qr === undefined ? null : <img class="qr" src={qr} alt="QR code for your authenticator app" data-testid="enroll-qr" width={200} height={200} />}
          <p>
            Key to type instead: <code data-testid="enroll-secret">{secret.secret}</code>
          </p>
          <Field label="6-digit code from the app">
            {(id) => (
              <input id={id} data-testid="enroll-code" inputMode="numeric" pattern="[0-9]{6}" maxLength={6} autoComplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
            )}
          </Field>
          <button type="submit" class="primary" data-testid="enroll-confirm" disabled={busy}>
            Confirm and sign in
          </button>
          <button type="button" class="link" onClick={props.onRestart}>
            Start again
          </button>
        </form>
      )}
    </main>
  );
}
