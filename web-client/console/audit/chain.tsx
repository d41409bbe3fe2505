/**
 * Chain status: the gateway re-verifies the whole hash chain and its signed checkpoints on
 * request (GET /audit/verify, itself audited) and this view says plainly whether the log is
 * intact, up to which entry, and — when it is not — the first bad entry, what that failure means
 * and what to do about it, in a red alert that cannot be mistaken for the intact state.
 */
import type { JSX } from 'preact';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, useLoad } from '../kit/ui.tsx';
import { verifyChain, type Checkpoint, type ChainStatus } from './api.ts';
import { formatSeconds } from './format.ts';

/** What each failure class of core/audit/verify.ts means to an auditor. */
const REASONS: Readonly<Record<string, string>> = {
  hash_mismatch: 'The entry was changed after it was written: its contents no longer match its hash.',
  prev_hash_mismatch: 'The entry does not link to the one before it: an entry was inserted, replaced or reordered.',
  seq_gap: 'An entry is missing: it was deleted.',
  checkpoint_signature_invalid: 'A signed checkpoint’s signature is not valid.',
  checkpoint_key_unknown: 'A checkpoint was signed by a key this gateway does not trust.',
  checkpoint_mismatch: 'The entry at a signed checkpoint is not the one that was signed: history was rewritten.',
  truncated: 'A signed checkpoint names an entry past the end of the log: the newest entries were cut off.',
};

export function ChainView(): JSX.Element {
  const { call } = useConsole();
  const result = useLoad(() => verifyChain(call), []);
  const data = result.data;

  return (
    <section class="card" aria-labelledby="chain-title" aria-busy={result.loading}>
      <div class="row audit-head">
        <h2 id="chain-title">Audit chain</h2>
        <Button testId="verify-now" kind="primary" onClick={result.reload} disabled={result.loading}>
          Verify now
        </Button>
      </div>
      <p class="muted">Every entry’s hash is recomputed and its link to the previous entry checked; signed checkpoints are checked against the entries they name.</p>
      <ErrorNote error={result.error} />
      {result.loading ? (
        <p class="muted" role="status" data-testid="chain-checking">
          Verifying the whole chain…
        </p>
      ) : null}
      {data === undefined ? null : <Status status={data.status} checkpoint={data.checkpoint} at={data.at} />}
    </section>
  );
}

function Status({ status, checkpoint, at }: { status: ChainStatus; checkpoint: Checkpoint | null; at: Date }): JSX.Element {
  const head = status.headSeq === null ? 'The log is empty.' : `Checked ${status.checked} entries up to seq ${status.headSeq}; ${status.checkpoints} signed ${status.checkpoints === 1 ? 'checkpoint' : 'checkpoints'} checked.`;
  return (
    <div class="audit-chain" data-testid="chain-status" data-ok={status.ok}>
      {status.ok ? (
        <p class="notice chain-ok" role="status">
          <strong data-testid="chain-state">Intact</strong> — no entry was changed, removed or inserted.
        </p>
      ) : (
        <div class="chain-broken" role="alert">
          <p>
            <strong data-testid="chain-state">Broken</strong>
            {status.firstBad === null ? null : (
              <>
                {' '}
                at <span data-testid="chain-first-bad">seq {status.firstBad.seq}</span>: {REASONS[status.firstBad.reason] ?? `verification failed (${status.firstBad.reason}).`}
              </>
            )}
          </p>
          <p>
            Do not rely on entries from this one on. Export the window around it now, keep this result, and tell your security officer; an operator can confirm with
            <code> telehealth audit verify</code> on the server.
          </p>
        </div>
      )}
      <dl class="audit-facts">
        <dt>Head</dt>
        <dd data-testid="chain-head">{head}</dd>
        <dt>Last signed checkpoint</dt>
        <dd data-testid="chain-checkpoint">
          {checkpoint === null ? 'None yet: the gateway signs the head periodically.' : `seq ${checkpoint.seq}, signed ${formatSeconds(checkpoint.at)} (key ${checkpoint.keyId})`}
        </dd>
        <dt>Verified</dt>
        <dd data-testid="chain-verified-at">{formatSeconds(at.toISOString())}</dd>
      </dl>
    </div>
  );
}
