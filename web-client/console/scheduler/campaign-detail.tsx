/**
 * One campaign: its live progress bar, pause / resume / cancel, the delivery report with skip
 * reasons and CSV export, and its dead letters with replay.
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, Dialog, ErrorNote, formatDateTime, Notice, ProgressBar, useLoad } from '../kit/ui.tsx';
import type { CampaignFeed } from './campaign-feed.ts';
import { DeadLetters } from './dead-letters.tsx';
import { DeliveryReport } from './delivery-report.tsx';
import { CAMPAIGN_MESSAGES } from './messages.ts';
import { isFinished, settled } from './reasons.ts';
import { CHANNEL_NAMES, PURPOSE_NAMES, type CampaignSummary, type Progress, type TemplateSummary } from './types.ts';
import { useProgress } from './use-progress.ts';

export const STATUS_NAMES: Readonly<Record<Progress['status'], string>> = { running: 'Running', paused: 'Paused', cancelled: 'Cancelled', completed: 'Completed' };

const RESUME_MESSAGES: Readonly<Record<string, string>> = {
  ...CAMPAIGN_MESSAGES,
  service_unavailable: 'The campaign is running again, but some reminders could not be queued because the job queue is down. Press Resume again in a few minutes; nothing is sent twice.',
};

export function statusLabel(p: Pick<Progress, 'status' | 'states'>): string {
  return p.status === 'running' && isFinished(p) ? 'Finished' : STATUS_NAMES[p.status];
}

export function CampaignDetail(props: { summary: CampaignSummary; template: TemplateSummary | undefined; feed: CampaignFeed | undefined; onChanged: () => void }): JSX.Element {
  const { call } = useConsole();
  const c = props.summary;
  // The full progress (with reasons) once loaded; until then what the list said.
  const loaded = useLoad(() => call<Progress>(`/campaigns/${encodeURIComponent(c.id)}`), [c.id]);
  const initial = useMemo<Progress>(() => loaded.data ?? { campaignId: c.id, status: c.status, total: c.total, states: c.states, reasons: {} }, [loaded.data, c]);
  const progress = useProgress(props.feed, c.id, initial) ?? initial;
  const [error, setError] = useState<{ err: unknown; own: Readonly<Record<string, string>> } | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const done = settled(progress.states);
  const finished = isFinished(progress);

  const change = async (verb: 'pause' | 'resume' | 'cancel', message: string): Promise<void> => {
    setError(undefined);
    try {
      await call(`/campaigns/${encodeURIComponent(c.id)}/${verb}`, { method: 'POST' });
      setNotice(message);
    } catch (err) {
      setError({ err, own: verb === 'resume' ? RESUME_MESSAGES : CAMPAIGN_MESSAGES });
    }
    loaded.reload();
    props.feed?.refresh();
    props.onChanged();
  };

  return (
    <section class="card" aria-labelledby="campaign-title" data-testid="campaign-detail" data-campaign={c.id}>
      <h2 id="campaign-title">
        Campaign of {formatDateTime(c.createdAt)}{' '}
        <span class={`badge ${progress.status === 'cancelled' ? 'bad' : finished ? 'ok' : 'warn'}`} data-testid="campaign-status">
          {statusLabel(progress)}
        </span>
      </h2>
      <p class="muted">
        {CHANNEL_NAMES[c.channel]} · {PURPOSE_NAMES[c.purpose]} · template {props.template?.name ?? c.templateId} version {c.templateVersion} · {c.total === 1 ? 'one patient' : `${c.total} patients`}
      </p>
      <ProgressBar testId="campaign-progress" label="Reminders processed" value={done} max={progress.total} />
      <p class="muted" data-testid="progress-summary">
        {progress.states.sent + progress.states.delivered} sent, {progress.states.skipped} skipped, {progress.states.failed + progress.states.undelivered} failed, {progress.states.queued + progress.states.sending} still to go.
      </p>
      {notice === undefined ? null : <Notice testId="campaign-notice">{notice}</Notice>}
      <ErrorNote error={loaded.error} />
      {error === undefined ? null : <ErrorNote error={error.err} own={error.own} />}
      {progress.status === 'cancelled' || progress.status === 'completed' ? null : (
        <div class="row">
          {progress.status === 'running' && !finished ? (
            <Button testId="campaign-pause" onClick={() => change('pause', 'Paused: no further reminders go out until you resume.')}>
              Pause
            </Button>
          ) : null}
          {progress.status === 'paused' ? (
            <Button testId="campaign-resume" kind="primary" onClick={() => change('resume', 'Resumed: the remaining reminders are going out.')}>
              Resume
            </Button>
          ) : null}
          {!finished || progress.status === 'paused' ? (
            <Button testId="campaign-cancel" kind="danger" onClick={() => setConfirmCancel(true)}>
              Cancel campaign
            </Button>
          ) : null}
        </div>
      )}
      {confirmCancel ? (
        <Dialog open role="alertdialog" title="Cancel this campaign?" onCancel={() => setConfirmCancel(false)} testId="campaign-cancel-dialog">
          <p>Reminders not yet sent will not be sent. Those already sent stay sent. This cannot be undone.</p>
          <div class="row">
            <Button
              kind="danger"
              testId="campaign-cancel-confirm"
              onClick={async () => {
                setConfirmCancel(false);
                await change('cancel', 'Cancelled: the remaining reminders will not be sent.');
              }}
            >
              Cancel campaign
            </Button>
            <Button onClick={() => setConfirmCancel(false)}>Keep it going</Button>
          </div>
        </Dialog>
      ) : null}
      <DeliveryReport progress={progress} />
      <DeadLetters campaignId={c.id} failed={progress.states.failed} onReplayed={() => props.feed?.refresh()} />
    </section>
  );
}
