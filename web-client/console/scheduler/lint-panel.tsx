/**
 * The editor's live check: what the gateway's template check found in the text being typed (the
 * rule in plain words, where, the flagged words, and what to write instead), the text with those
 * words highlighted, and the message as a patient would receive it with sample values.
 */
import type { JSX } from 'preact';
import { ErrorNote } from '../kit/ui.tsx';
import { highlight, type Flag } from './lint-findings.ts';
import type { TemplatePreview } from './types.ts';

export type CheckState = { readonly name: 'idle' } | { readonly name: 'checking' } | { readonly name: 'done'; readonly preview: TemplatePreview; readonly flags: readonly Flag[] } | { readonly name: 'failed'; readonly error: unknown };

export function LintPanel({ check, body }: { check: CheckState; body: string }): JSX.Element {
  const state = check.name === 'done' ? (check.preview.ok ? 'ok' : 'problems') : check.name;
  const bodyFlags = check.name === 'done' ? check.flags.filter((f) => f.path === 'body') : [];
  return (
    <div class="lint-panel">
      <div class={`lint ${state}`} role="status" aria-live="polite" data-testid="lint-status" data-state={state}>
        {check.name === 'idle' ? <p class="muted">Type the message: it is checked as you type.</p> : null}
        {check.name === 'checking' ? <p class="muted">Checking…</p> : null}
        {check.name === 'failed' ? <ErrorNote error={check.error} /> : null}
        {check.name === 'done' && check.preview.ok ? <p class="notice">No problems found: this text can be saved.</p> : null}
        {check.name === 'done' && !check.preview.ok ? (
          <>
            <p class="warn">
              {check.flags.length === 1 ? 'One problem' : `${check.flags.length} problems`} found. Reminders travel unprotected and show on lock screens: change the text before saving.
            </p>
            <ul class="findings" data-testid="lint-findings">
              {check.flags.map((f, i) => (
                <li key={i} data-testid="lint-finding" data-rule={f.rule}>
                  <strong>{f.title}</strong>
                  {f.words === undefined ? null : (
                    <>
                      {' '}
                      <q class="flagged" data-testid="flagged-words">
                        {f.words}
                      </q>
                    </>
                  )}
                  {f.where === undefined ? null : <span class="muted"> ({f.path === 'subject' ? 'subject, ' : ''}{f.where})</span>}. {f.advice}
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </div>
      {bodyFlags.some((f) => f.start !== undefined) ? (
        <div>
          <h3>Flagged in your text</h3>
          <p class="highlighted" data-testid="lint-highlight">
            {highlight(body, bodyFlags).map((piece, i) => (piece.flagged ? <mark key={i}>{piece.text}</mark> : <span key={i}>{piece.text}</span>))}
          </p>
        </div>
      ) : null}
      {check.name === 'done' && check.preview.rendered !== null ? (
        <div data-testid="preview">
          <h3>What the patient receives (sample)</h3>
          {check.preview.rendered.subject === null ? null : (
            <p>
              <strong>Subject:</strong> <span data-testid="preview-subject">{check.preview.rendered.subject}</span>
            </p>
          )}
          <p class="preview-text" data-testid="preview-text">
            {check.preview.rendered.text}
          </p>
          {check.preview.rendered.sms === null ? null : (
            <p class="muted">
              {check.preview.rendered.sms.segments === 1 ? 'One text message' : `${check.preview.rendered.sms.segments} text messages`} ({check.preview.rendered.sms.units} characters,{' '}
              {check.preview.rendered.sms.encoding === 'gsm7' ? 'plain characters' : 'special characters make each message shorter'}).
            </p>
          )}
        </div>
      ) : null}
    </div>
  );
}
