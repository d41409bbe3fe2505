/** After the session ends, for any reason: nothing of the console remains, only what happened and how to go on. */
import type { JSX } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';
import type { SignedOutReason } from '../kit/session.ts';

const TEXT: Readonly<Record<SignedOutReason, string>> = {
  'signed-out': 'You signed out.',
  idle: 'You were signed out automatically because the console was not used for a while.',
  expired: 'Your session ended (it timed out, or an administrator ended it).',
};

export function SignedOut({ reason, onSignIn }: { reason: SignedOutReason; onSignIn: () => void }): JSX.Element {
  const heading = useRef<HTMLHeadingElement>(null);
  // Layout effects: the title must change with the screen, not after the next frame.
  useLayoutEffect(() => {
    document.title = 'Signed out — Clinic console';
    heading.current?.focus();
  }, []);
  return (
    <main class="page narrow" data-testid="signed-out" data-reason={reason}>
      <h1 ref={heading} tabIndex={-1}>
        Signed out
      </h1>
      <p data-testid="signed-out-reason">{TEXT[reason]}</p>
      <p>Anything you had not saved was not sent. On a shared computer, close this browser window.</p>
      <button type="button" class="primary" data-testid="sign-in-again" onClick={onSignIn}>
        Sign in again
      </button>
    </main>
  );
}
