/**
 * Start a conversation by the other person's user id: the fallback for someone the contact list
 * (contact-list.tsx) does not show. The app fetches their keys first, so a wrong id, someone
 * outside the care team, or a person without a device is reported here rather than on the first send.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { ConversationSummary } from '../../sdk/messenger-app/api.ts';
import { Field } from '../console/kit/ui.tsx';
import { call } from './local-api.ts';
import { Problem } from './widgets.tsx';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function NewConversation({ myUserId, onStarted }: { myUserId: string | null; onStarted: (peer: string) => void }): JSX.Element {
  const [peer, setPeer] = useState('');
  const [label, setLabel] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = (ev: Event): void => {
    ev.preventDefault();
    const id = peer.trim().toLowerCase();
    if (!UUID.test(id)) return setProblem('A user id looks like 3f2b9c1e-…-…: 36 letters, digits and dashes. Ask the person for theirs.');
    setProblem(undefined);
    setError(undefined);
    setBusy(true);
    call<{ conversation: ConversationSummary }>('POST', '/api/conversations', { peerUserId: id, ...(label.trim() === '' ? {} : { label: label.trim() }) })
      .then((r) => {
        setPeer('');
        setLabel('');
        onStarted(r.conversation.peerUserId);
      })
      .catch((err: unknown) => setError(err))
      .finally(() => setBusy(false));
  };

  return (
    <form class="form new-conversation" onSubmit={submit} data-testid="new-conversation">
      <h2>New conversation</h2>
      <Field label="Their user id" problem={problem}>
        {(id, describedBy) => <input id={id} aria-describedby={describedBy} autoComplete="off" spellcheck={false} required maxLength={36} value={peer} onInput={(e) => setPeer(e.currentTarget.value)} data-testid="peer-id" />}
      </Field>
      <Field label="Name to show (only on this computer)">{(id) => <input id={id} autoComplete="off" maxLength={80} value={label} onInput={(e) => setLabel(e.currentTarget.value)} data-testid="peer-label" />}</Field>
      <Problem error={error} />
      <button type="submit" disabled={busy} data-testid="start-conversation">
        {busy ? 'Checking…' : 'Start conversation'}
      </button>
      {myUserId === null ? null : (
        <p class="muted small">
          Your user id (to give to others): <code data-testid="my-user-id">{myUserId}</code>
        </p>
      )}
    </form>
  );
}
