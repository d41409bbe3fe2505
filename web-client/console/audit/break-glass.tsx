/**
 * The break-glass review queue (privacy officers): every emergency access still open for review,
 * oldest first — who asked (id), for which patient (id), why, when, until when, and how many
 * actions were done under it — each closed with an outcome and an optional note. Reading the
 * queue is audited by the gateway as a view of each patient's reason. Nothing of it goes in the URL.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../../shared/api.ts';
import { fieldProblems } from '../kit/errors.ts';
import { useConsole } from '../kit/session.ts';
import { Button, Dialog, ErrorNote, Field, formatDateTime, Notice, Table, useLoad } from '../kit/ui.tsx';
import { closeReview, loadQueue, OUTCOMES, type Grant, type GrantUsage, type Outcome } from './api.ts';

const NOTE_MAX = 1000;

export const OUTCOME_LABELS: Readonly<Record<Outcome, string>> = {
  justified: 'Justified',
  not_justified: 'Not justified',
  escalated: 'Escalated',
};

const OUTCOME_HINTS: Readonly<Record<Outcome, string>> = {
  justified: 'The emergency and the access match.',
  not_justified: 'The access was not warranted; if it is still running it ends now.',
  escalated: 'Needs a further investigation (compliance, HR or legal).',
};

export const REVIEW_MESSAGES: Readonly<Record<string, string>> = {
  own_grant: 'You requested this emergency access yourself, so you cannot review it. Another privacy officer must close it.',
  already_reviewed: 'Someone else closed this review already. The queue has been reloaded.',
  patient_erased: 'The patient’s record was erased, so a note cannot be stored. Close the review without a note.',
  not_found: 'This grant no longer exists. The queue has been reloaded.',
  validation_failed: 'Choose an outcome, and keep the note under 1000 characters.',
};

const QUEUE_MESSAGES: Readonly<Record<string, string>> = {
  forbidden: 'Only privacy officers can see the break-glass review queue.',
};

export function BreakGlassView(): JSX.Element {
  const { call } = useConsole();
  const queue = useLoad(() => loadQueue(call), []);
  const [reviewing, setReviewing] = useState<Grant | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const grants = queue.data?.grants ?? [];
  const usage = queue.data?.usage ?? new Map<string, GrantUsage>();

  return (
    <>
      {notice === undefined ? null : <Notice testId="review-notice">{notice}</Notice>}
      <section class="card" aria-labelledby="queue-title">
        <div class="row audit-head">
          <h2 id="queue-title">Break-glass reviews</h2>
          <Button testId="queue-reload" onClick={queue.reload} disabled={queue.loading}>
            Reload
          </Button>
        </div>
        <p class="muted">Every emergency access must be closed with an outcome. Reasons are shown to you only; opening this queue is recorded in the audit log.</p>
        <ErrorNote error={queue.error} own={QUEUE_MESSAGES} />
        {queue.loading && queue.data === undefined ? <p class="muted">Loading…</p> : null}
        {queue.data === undefined ? null : (
          <Table
            caption={grants.length === 0 ? 'No open reviews' : `${grants.length} open ${grants.length === 1 ? 'review' : 'reviews'}, oldest first`}
            testId="queue"
            rowTestId="grant-row"
            head={['Requested by', 'Patient id', 'Reason', 'Started', 'Access until', 'Actions under it', '']}
            empty="No open reviews: every emergency access has been reviewed."
            rows={grants.map((g) => {
              const used = usage.get(g.id);
              const live = new Date(g.expiresAt).getTime() > Date.now();
              return [
                <span key="p" class="audit-id" data-testid="grant-provider">
                  {g.providerId}
                </span>,
                <span key="pt" class="audit-id" data-testid="grant-patient">
                  {g.patientId}
                </span>,
                g.reason === null ? (
                  <em key="r" class="muted">
                    Erased with the patient’s record
                  </em>
                ) : (
                  <span key="r" class="grant-reason" data-testid="grant-reason">
                    {g.reason}
                  </span>
                ),
                formatDateTime(g.startedAt),
                <span key="e">
                  {formatDateTime(g.expiresAt)} {live ? <span class="badge warn">Active</span> : <span class="badge">Ended</span>}
                </span>,
                <span key="u" data-testid="grant-actions">
                  {used === undefined ? '—' : used.actions}
                </span>,
                <button
                  key="c"
                  type="button"
                  class="primary"
                  data-testid="grant-review"
                  aria-label={`Close review of access to patient ${g.patientId}`}
                  onClick={() => {
                    setNotice(undefined);
                    setReviewing(g);
                  }}
                >
                  Close review
                </button>,
              ];
            })}
          />
        )}
      </section>
      {reviewing === undefined ? null : (
        <ReviewDialog
          key={reviewing.id}
          grant={reviewing}
          onCancel={() => setReviewing(undefined)}
          onClosed={(outcome) => {
            setReviewing(undefined);
            setNotice(`Review closed as ${OUTCOME_LABELS[outcome]}.`);
            queue.reload();
          }}
          onStale={queue.reload}
        />
      )}
    </>
  );
}

function ReviewDialog(props: { grant: Grant; onCancel: () => void; onClosed: (o: Outcome) => void; onStale: () => void }): JSX.Element {
  const { call } = useConsole();
  const [outcome, setOutcome] = useState<Outcome | undefined>(undefined);
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);
  const problems = fieldProblems(error);

  const submit = async (): Promise<void> => {
    if (outcome === undefined) {
      setMissing(true);
      return;
    }
    setBusy(true);
    try {
      await closeReview(call, props.grant.id, outcome, note);
      props.onClosed(outcome);
    } catch (err) {
      setBusy(false);
      setError(err);
      // The grant changed under us: show the queue as it is now (the dialog keeps what was typed).
      if (err instanceof ApiError && (err.code === 'already_reviewed' || err.code === 'not_found')) props.onStale();
    }
  };

  return (
    <Dialog open title="Close break-glass review" onCancel={props.onCancel} testId="review-dialog">
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <p class="muted audit-id">
          Access by {props.grant.providerId} to patient {props.grant.patientId}
        </p>
        <fieldset class="review-outcomes" aria-describedby={missing ? 'outcome-missing' : undefined}>
          <legend>Outcome</legend>
          {OUTCOMES.map((o) => (
            <label key={o} class="review-outcome">
              <input
                type="radio"
                name="outcome"
                value={o}
                data-testid={`outcome-${o}`}
                checked={outcome === o}
                onChange={() => {
                  setOutcome(o);
                  setMissing(false);
                }}
              />
              <span>
                {OUTCOME_LABELS[o]} <small class="muted">— {OUTCOME_HINTS[o]}</small>
              </span>
            </label>
          ))}
          {missing ? (
            <small id="outcome-missing" class="field-problem" role="alert">
              Choose an outcome.
            </small>
          ) : null}
        </fieldset>
        <Field label="Note (optional)" hint={`Stored encrypted with the patient’s record; at most ${NOTE_MAX} characters.`} problem={problems['note']}>
          {(id, describedBy) => <textarea id={id} data-testid="review-note" maxLength={NOTE_MAX} value={note} aria-describedby={describedBy} onInput={(e) => setNote(e.currentTarget.value)} />}
        </Field>
        <ErrorNote error={error} own={REVIEW_MESSAGES} />
        <div class="row">
          <button type="submit" class="primary" data-testid="review-submit" disabled={busy} aria-busy={busy}>
            Close review
          </button>
          <Button testId="review-cancel" onClick={props.onCancel}>
            Cancel
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
