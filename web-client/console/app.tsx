/**
 * The console's top level: find out whether this browser holds a staff session, sign in (with
 * first-time authenticator enrollment and recovery codes), then show the role's console with the
 * automatic-logoff warning, and a clean signed-out screen once the session ends for any reason.
 * Nothing of the session survives in the page after sign-out: the console is unmounted.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError } from '../shared/api.ts';
import { IdleWarning } from './auth/idle-warning.tsx';
import { RecoveryCodes } from './auth/recovery-codes.tsx';
import { SignIn } from './auth/sign-in.tsx';
import { SignedOut } from './auth/signed-out.tsx';
import { ConsoleShell } from './shell.tsx';
import { asStaffSession, ConsoleContext, makeContext, type SessionInfo, type SignedOutReason, type StaffSession } from './kit/session.ts';
import { ErrorNote } from './kit/ui.tsx';

type Phase =
  | { readonly name: 'loading' }
  | { readonly name: 'failed'; readonly error: unknown }
  | { readonly name: 'sign-in' }
  | { readonly name: 'recovery'; readonly session: StaffSession; readonly codes: readonly string[] }
  | { readonly name: 'in'; readonly session: StaffSession }
  | { readonly name: 'out'; readonly reason: SignedOutReason };

async function existingSession(): Promise<StaffSession | undefined> {
  try {
    return asStaffSession(await api<SessionInfo>('/auth/session'));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return undefined;
    throw err;
  }
}

export function App(): JSX.Element {
  const [phase, setPhase] = useState<Phase>({ name: 'loading' });
  useEffect(() => {
    existingSession()
      .then((s) => setPhase(s === undefined ? { name: 'sign-in' } : { name: 'in', session: s }))
      .catch((error: unknown) => setPhase({ name: 'failed', error }));
  }, []);
  useEffect(() => {
    document.body.dataset['state'] = phase.name;
  }, [phase.name]);

  switch (phase.name) {
    case 'loading':
      return <p class="page muted">Loading…</p>;
    case 'failed':
      return (
        <main class="page">
          <ErrorNote error={phase.error} />
        </main>
      );
    case 'sign-in':
      return (
        <SignIn
          onSignedIn={(session, codes) => setPhase(codes === undefined ? { name: 'in', session } : { name: 'recovery', session, codes })}
          onUnsupported={() => setPhase({ name: 'failed', error: new ApiError(403, 'forbidden', 'not a staff account') })}
        />
      );
    case 'recovery':
      return <RecoveryCodes codes={phase.codes} onDone={() => setPhase({ name: 'in', session: phase.session })} />;
    case 'in':
      return <SignedIn session={phase.session} onEnded={(reason) => setPhase({ name: 'out', reason })} onRenewed={(session) => setPhase({ name: 'in', session })} />;
    case 'out':
      return <SignedOut reason={phase.reason} onSignIn={() => setPhase({ name: 'sign-in' })} />;
  }
}

function SignedIn(props: { session: StaffSession; onEnded: (reason: SignedOutReason) => void; onRenewed: (session: StaffSession) => void }): JSX.Element {
  const { session, onEnded, onRenewed } = props;
  const ctx = useMemo(() => makeContext(session, onEnded, onRenewed), [session, onEnded, onRenewed]);
  return (
    <ConsoleContext.Provider value={ctx}>
      <ConsoleShell />
      <IdleWarning onEnded={onEnded} />
    </ConsoleContext.Provider>
  );
}
