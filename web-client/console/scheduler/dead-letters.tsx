/**
 * A campaign's dead letters: reminders that failed for good (the provider refused them, or it is
 * unknown whether they went out), with the reason and attempts — ids only — and a replay for one
 * or all once the cause is fixed. A replayed reminder is checked again like a first attempt
 * (consent, appointment, quiet hours); it is never sent twice.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, formatDateTime, Notice, Table, useLoad } from '../kit/ui.tsx';
import { reasonName } from './reasons.ts';
import { CHANNEL_NAMES, type DeadLetter } from './types.ts';

export function DeadLetters({ campaignId, failed, onReplayed }: { campaignId: string; failed: number; onReplayed: () => void }): JSX.Element {
  const { call } = useConsole();
  const path = `/campaigns/${encodeURIComponent(campaignId)}`;
  // Loaded again whenever the failed count moves.
  const list = useLoad(async () => (await call<{ deadLetters: DeadLetter[] }>(`${path}/dead-letters`)).deadLetters, [campaignId, failed]);
  const [error, setError] = useState<unknown>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);

  const replay = async (deliveryIds?: readonly string[]): Promise<void> => {
    setError(undefined);
    try {
      const { replayed } = await call<{ replayed: number }>(`${path}/replay`, { body: deliveryIds === undefined ? {} : { deliveryIds } });
      setNotice(replayed === 0 ? 'Nothing was waiting to be replayed.' : `${replayed === 1 ? 'One reminder is' : `${replayed} reminders are`} queued again.`);
      list.reload();
      onReplayed();
    } catch (err) {
      setError(err);
    }
  };

  const rows = (list.data ?? []).map((d) => [
    <code key="id">{d.deliveryId}</code>,
    CHANNEL_NAMES[d.channel],
    d.reason === null ? '—' : reasonName(d.reason),
    String(d.attempts),
    formatDateTime(d.updatedAt),
    <Button key="replay" testId={`replay-${d.deliveryId}`} label={`Replay reminder ${d.deliveryId}`} onClick={() => replay([d.deliveryId])}>
      Replay
    </Button>,
  ]);

  return (
    <div data-testid="dead-letters">
      <h3>Failed for good (dead letters)</h3>
      <p class="muted">Fix the cause first (a corrected number, a provider outage over). For “unknown whether it was sent”, check with the provider that nothing went out before replaying.</p>
      <ErrorNote error={list.error ?? error} />
      {notice === undefined ? null : <Notice testId="replay-notice">{notice}</Notice>}
      <Table testId="dead-letter-table" rowTestId="dead-letter-row" caption={`Dead letters${list.loading ? ' (loading…)' : ''}`} head={['Reminder id', 'Channel', 'Reason', 'Attempts', 'Last try', 'Actions']} rows={rows} empty="None: no reminder failed for good." />
      {(list.data?.length ?? 0) > 1 ? (
        <Button testId="replay-all" onClick={() => replay()}>
          Replay all
        </Button>
      ) : null}
    </div>
  );
}
