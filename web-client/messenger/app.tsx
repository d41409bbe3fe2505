/**
 * The messenger page's top level: find out whether the page was opened from the launch link and
 * whether the app is signed in; then the sign-in screen, or the conversations. One live stream
 * from the app drives every reload; its state shows in the header.
 */
import type { JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { SessionView } from '../../sdk/messenger-app/api.ts';
import { Chat } from './chat.tsx';
import { ApiError, loadSession } from './local-api.ts';
import { bump, openLiveEvents, type LiveVersions, type StreamState } from './live-events.ts';
import { SignIn } from './sign-in.tsx';
import { Problem } from './widgets.tsx';

type Phase = { readonly name: 'loading' } | { readonly name: 'not-launched' } | { readonly name: 'failed'; readonly error: unknown } | { readonly name: 'ready'; readonly session: SessionView };

export function App(): JSX.Element {
  const [phase, setPhase] = useState<Phase>({ name: 'loading' });
  const [stream, setStream] = useState<StreamState | 'starting'>('starting');
  const [live, setLive] = useState<LiveVersions>({ all: 0, list: 0, peers: {} });

  const refreshSession = useCallback(() => {
    loadSession()
      .then((session) => setPhase({ name: 'ready', session }))
      .catch((error: unknown) => setPhase(error instanceof ApiError && error.status === 401 ? { name: 'not-launched' } : { name: 'failed', error }));
  }, []);

  useEffect(refreshSession, [refreshSession]);

  const launched = phase.name === 'ready';
  useEffect(() => {
    if (!launched) return undefined;
    return openLiveEvents(
      (event) => {
        if (event.type === 'session' || event.type === 'ready' || event.type === 'connection') refreshSession();
        setLive((v) => bump(v, event));
      },
      setStream,
    );
  }, [launched, refreshSession]);

  useEffect(() => {
    document.body.dataset['state'] = phase.name === 'ready' ? (phase.session.signedIn ? 'signed-in' : 'signed-out') : phase.name;
  }, [phase]);

  switch (phase.name) {
    case 'loading':
      return <p class="page muted">Loading…</p>;
    case 'not-launched':
      return (
        <main class="page narrow">
          <h1>Open the messenger from its link</h1>
          <p data-testid="not-launched">
            This page only works when opened from the link that <code>telehealth messenger</code> printed in your terminal. Each link works once; press Enter in that terminal
            for a new one.
          </p>
        </main>
      );
    case 'failed':
      return (
        <main class="page narrow">
          <Problem error={phase.error} />
        </main>
      );
    case 'ready': {
      const { session } = phase;
      return (
        <div class="app">
          {stream === 'refused' ? <p class="error" role="alert">This page lost its access to the messenger app. Reload the page, or open a new link from the terminal.</p> : null}
          {stream === 'reconnecting' ? (
            <p class="warn" role="status" data-testid="app-offline">
              The messenger app is not answering. If you stopped it, start <code>telehealth messenger</code> again and open the new link.
            </p>
          ) : null}
          {session.problem === null ? null : (
            <p class="error" role="alert">
              {session.problem}
            </p>
          )}
          {session.signedIn ? <Chat session={session} live={live} onSession={(s) => setPhase({ name: 'ready', session: s })} /> : <SignIn session={session} onSignedIn={(s) => setPhase({ name: 'ready', session: s })} />}
        </div>
      );
    }
  }
}
