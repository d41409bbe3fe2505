/**
 * Signed in: the header (connection state, sign out), the conversation list — existing
 * conversations first, then the contacts the gateway lists to start one with, then "new
 * conversation" by user id as a fallback — and the open conversation. At phone width one of the
 * two panes shows at a time.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ConversationSummary, SessionView } from '../../sdk/messenger-app/api.ts';
import type { LiveVersions } from './live-events.ts';
import { ConversationPane } from './conversation.tsx';
import { ContactList, useContacts } from './contact-list.tsx';
import { call } from './local-api.ts';
import { NewConversation } from './new-conversation.tsx';
import { formatTime, peerName, Problem } from './widgets.tsx';

const CONNECTION: Readonly<Record<SessionView['connection'], string>> = {
  connected: 'Connected',
  connecting: 'Connecting to the gateway…',
  offline: 'Offline',
};

export function Chat({ session, live, onSession }: { session: SessionView; live: LiveVersions; onSession: (s: SessionView) => void }): JSX.Element {
  const [conversations, setConversations] = useState<readonly ConversationSummary[] | undefined>(undefined);
  const [open, setOpen] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    call<{ conversations: ConversationSummary[] }>('GET', '/api/conversations')
      .then((r) => {
        if (!live) return;
        setConversations(r.conversations);
        setError(undefined);
      })
      .catch((err: unknown) => live && setError(err));
    return () => {
      live = false;
    };
  }, [tick, live.list, live.all]);
  // Asked of the gateway once, and again after the page reconnects (not on every message).
  const contacts = useContacts(live.all);
  const contactName = (peer: string): string | undefined => (contacts !== undefined && !('failed' in contacts) ? contacts.contacts.find((x) => x.userId === peer)?.displayName : undefined);

  const signOut = (): void => {
    call<SessionView>('POST', '/api/sign-out', {})
      .then(onSession)
      .catch((err: unknown) => setError(err));
  };

  const current = conversations?.find((c) => c.peerUserId === open);
  return (
    <div class={`chat${open === undefined ? '' : ' has-open'}`}>
      <header class="bar">
        <h1>Secure messages</h1>
        <span class={`connection ${session.connection}`} role="status" data-testid="connection">
          {CONNECTION[session.connection]}
        </span>
        <button type="button" onClick={signOut} data-testid="sign-out">
          Sign out
        </button>
      </header>
      <Problem error={error} />
      <div class="panes">
        <nav class="list-pane" aria-label="Conversations">
          <h2>Conversations</h2>
          {conversations === undefined ? (
            <p class="muted">Loading…</p>
          ) : conversations.length === 0 ? (
            <p class="muted">No conversations yet. Pick someone below, or start one with the other person’s user id.</p>
          ) : (
            <ul class="conversations">
              {conversations.map((c) => (
                <li key={c.peerUserId}>
                  <button
                    type="button"
                    class="conversation"
                    aria-current={c.peerUserId === open ? 'true' : undefined}
                    title={c.peerUserId}
                    data-testid="conversation"
                    data-peer={c.peerUserId}
                    onClick={() => setOpen(c.peerUserId)}
                  >
                    <span class="name">{c.label ?? contactName(c.peerUserId) ?? peerName(c)}</span>
                    {c.identityChanged ? <span class="badge warn">safety number changed</span> : null}
                    {c.unread > 0 ? (
                      <span class="badge unread" data-testid="unread">
                        {c.unread} unread
                      </span>
                    ) : null}
                    {c.lastAt === null ? null : <span class="muted when">{formatTime(c.lastAt)}</span>}
                  </button>
                </li>
              ))}
            </ul>
          )}
          <ContactList
            contacts={contacts}
            conversations={conversations}
            onStarted={(peer) => {
              setOpen(peer);
              setTick((n) => n + 1);
            }}
          />
          <NewConversation
            myUserId={session.account?.userId ?? null}
            onStarted={(peer) => {
              setOpen(peer);
              setTick((n) => n + 1);
            }}
          />
        </nav>
        <main class="conversation-pane" id="conversation">
          {open === undefined ? (
            <p class="muted empty">Choose a conversation.</p>
          ) : (
            <ConversationPane
              key={open}
              peer={open}
              summary={current}
              session={session}
              live={live}
              onBack={() => setOpen(undefined)}
            />
          )}
        </main>
      </div>
    </div>
  );
}
