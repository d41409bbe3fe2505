/**
 * One conversation: the identity-change banner (must be acknowledged), the messages with their
 * delivery/read state and attachments, and the composer. Received messages are marked read —
 * which sends the sender a read receipt — once they are on screen in a visible tab.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConversationSummary, ConversationView, MessageView, SessionView } from '../../sdk/messenger-app/api.ts';
import { saveBlob } from '../console/kit/ui.tsx';
import type { LiveVersions } from './live-events.ts';
import { Composer } from './composer.tsx';
import { call, downloadFile } from './local-api.ts';
import { SafetyNumberDialog } from './safety-number.tsx';
import { formatSize, formatTime, peerName, Problem } from './widgets.tsx';

const STATUS: Readonly<Record<MessageView['status'], string>> = { sent: 'Sent', delivered: 'Delivered', read: 'Read', unread: 'New' };

function useVisible(): boolean {
  const [visible, setVisible] = useState(document.visibilityState === 'visible');
  useEffect(() => {
    const on = () => setVisible(document.visibilityState === 'visible');
    document.addEventListener('visibilitychange', on);
    return () => document.removeEventListener('visibilitychange', on);
  }, []);
  return visible;
}

export function ConversationPane(props: { peer: string; summary: ConversationSummary | undefined; session: SessionView; live: LiveVersions; onBack: () => void }): JSX.Element {
  const { peer } = props;
  const [view, setView] = useState<ConversationView | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [tick, setTick] = useState(0);
  const [safetyOpen, setSafetyOpen] = useState(false);
  const visible = useVisible();
  const bottom = useRef<HTMLLIElement>(null);

  useEffect(() => {
    let live = true;
    call<ConversationView>('GET', `/api/conversations/${peer}`)
      .then((v) => {
        if (!live) return;
        setView(v);
        setError(undefined);
      })
      .catch((err: unknown) => live && setError(err));
    return () => {
      live = false;
    };
  }, [peer, tick, props.live.peers[peer], props.live.all]);

  const unread = view?.messages.filter((m) => m.status === 'unread').map((m) => m.clientId) ?? [];
  const unreadKey = unread.join(',');
  useEffect(() => {
    if (!visible || unread.length === 0) return;
    call('POST', `/api/conversations/${peer}/read`, { clientIds: unread }).catch((err: unknown) => setError(err));
  }, [unreadKey, visible, peer]);

  const count = view?.messages.length ?? 0;
  useEffect(() => bottom.current?.scrollIntoView({ block: 'end' }), [count]);

  const acknowledge = (): void => {
    call<ConversationView>('POST', `/api/conversations/${peer}/identity-ack`, {})
      .then(setView)
      .catch((err: unknown) => setError(err));
  };

  const name = view === undefined ? (props.summary === undefined ? 'Conversation' : peerName(props.summary)) : peerName(view);
  const warnings = view?.identityWarnings ?? [];
  return (
    <section class="conversation-view" aria-labelledby="conversation-title">
      <header class="bar">
        <button type="button" class="link back" onClick={props.onBack}>
          ← Conversations
        </button>
        <h2 id="conversation-title" title={peer}>
          {name}
        </h2>
        <button type="button" onClick={() => setSafetyOpen(true)} data-testid="open-safety-number">
          Safety number
        </button>
      </header>
      {warnings.length === 0 ? null : (
        <div class="warn identity-banner" role="alert" data-testid="identity-warning">
          <p>
            <strong>The safety number with {name} changed</strong> (device {warnings.map((w) => w.deviceId).join(', ')}). This happens when they reinstall the app or use a new device — or
            when someone is trying to intercept your messages. Compare the new safety number with them before you share anything sensitive.
          </p>
          {warnings.some((w) => w.wasVerified) ? <p>You had verified the old number. Acknowledge the change to keep messaging them, then compare and verify the new number.</p> : null}
          <div class="row">
            <button type="button" onClick={() => setSafetyOpen(true)}>
              Compare safety number
            </button>
            <button type="button" class="primary" onClick={acknowledge} data-testid="acknowledge-identity">
              I understand
            </button>
          </div>
        </div>
      )}
      <Problem error={error} />
      <ol class="messages" aria-label={`Messages with ${name}`} aria-live="polite" data-testid="messages">
        {view === undefined ? <li class="muted">Loading…</li> : view.messages.length === 0 ? <li class="muted">No messages yet. Write the first one below.</li> : null}
        {view?.messages.map((m) => (
          <Message key={m.clientId} peer={peer} message={m} onError={setError} />
        ))}
        <li ref={bottom} class="end" aria-hidden="true" />
      </ol>
      <Composer peer={peer} limits={props.session.limits} onSent={() => setTick((n) => n + 1)} />
      <SafetyNumberDialog peer={peer} name={name} open={safetyOpen} onClose={() => setSafetyOpen(false)} />
    </section>
  );
}

function Message({ peer, message: m, onError }: { peer: string; message: MessageView; onError: (e: unknown) => void }): JSX.Element {
  const download = (index: number, name: string): void => {
    downloadFile(`/api/conversations/${peer}/messages/${m.clientId}/attachments/${index}`)
      .then((blob) => saveBlob(blob, name))
      .catch(onError);
  };
  return (
    <li class={`message ${m.direction}`} data-testid="message" data-direction={m.direction} data-status={m.status} data-client-id={m.clientId}>
      {m.text === '' ? null : <p class="text">{m.text}</p>}
      {m.attachments.length === 0 ? null : (
        <ul class="attachments">
          {m.attachments.map((a) => (
            <li key={a.index}>
              <button type="button" class="attachment" onClick={() => download(a.index, a.name)} data-testid="attachment">
                Download {a.name} <span class="muted">{formatSize(a.size)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <p class="meta">
        <time dateTime={new Date(m.sentAt).toISOString()}>{formatTime(m.sentAt)}</time>
        {m.direction === 'out' ? (
          <span class={`status ${m.status}`} data-testid="status">
            {' · '}
            {STATUS[m.status]}
          </span>
        ) : null}
      </p>
    </li>
  );
}
