/**
 * "Start a conversation with…": the people the gateway says this account may message (its care
 * team; for providers also their colleagues) who have no conversation here yet. Picking one starts
 * the conversation with their name as its local label. The names are asked of the app each time
 * the list is shown and kept in this page only (a patient's name is PHI; never in a URL or title).
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ContactsView, ContactView, ConversationSummary } from '../../sdk/messenger-app/api.ts';
import { call } from './local-api.ts';
import { describe, Problem } from './widgets.tsx';

/** The app keeps local labels to 80 characters (requests.ts). */
const LABEL_MAX = 80;
const KIND: Readonly<Record<ContactView['kind'], string>> = { provider: 'Provider', patient: 'Patient' };

/** Contacts from the app; reloaded when `reload` changes. `undefined` while loading, an error when it failed. */
export function useContacts(reload: number): ContactsView | { readonly failed: unknown } | undefined {
  const [state, setState] = useState<ContactsView | { readonly failed: unknown } | undefined>(undefined);
  useEffect(() => {
    let live = true;
    call<ContactsView>('GET', '/api/contacts')
      .then((r) => live && setState(r))
      .catch((failed: unknown) => live && setState({ failed }));
    return () => {
      live = false;
    };
  }, [reload]);
  return state;
}

export function ContactList(props: { contacts: ReturnType<typeof useContacts>; conversations: readonly ConversationSummary[] | undefined; onStarted: (peer: string) => void }): JSX.Element | null {
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const { contacts } = props;
  if (contacts === undefined || props.conversations === undefined) return <p class="muted">Loading your contacts…</p>;
  if ('failed' in contacts) {
    return (
      <p class="warn" data-testid="contacts-error">
        {describe(contacts.failed)} You can still start a conversation by user id below.
      </p>
    );
  }
  const talking = new Set(props.conversations.map((c) => c.peerUserId));
  const fresh = contacts.contacts.filter((c) => !talking.has(c.userId));
  if (fresh.length === 0) return null;

  const start = (c: ContactView): void => {
    setError(undefined);
    setBusy(c.userId);
    call<{ conversation: ConversationSummary }>('POST', '/api/conversations', { peerUserId: c.userId, label: c.displayName.slice(0, LABEL_MAX) })
      .then((r) => props.onStarted(r.conversation.peerUserId))
      .catch((err: unknown) => setError(err))
      .finally(() => setBusy(undefined));
  };

  return (
    <section class="contacts" aria-labelledby="contacts-title">
      <h2 id="contacts-title">Start a conversation with…</h2>
      <ul class="conversations">
        {fresh.map((c) => (
          <li key={c.userId}>
            <button type="button" class="conversation contact" title={c.userId} disabled={busy !== undefined} data-testid="contact" data-peer={c.userId} onClick={() => start(c)}>
              <span class="name">{c.displayName}</span>
              <span class="badge">{KIND[c.kind]}</span>
              {c.hasDevice ? null : <span class="muted small">has not set up secure messaging yet</span>}
              {busy === c.userId ? <span class="muted small">Checking…</span> : null}
            </button>
          </li>
        ))}
      </ul>
      {contacts.truncated ? <p class="muted small">Only the first {contacts.contacts.length} are listed; reach anyone else by user id below.</p> : null}
      <Problem error={error} />
    </section>
  );
}
