/**
 * Writing a reminder template with the check running as the scheduler types: a short pause after
 * the last keystroke sends the unsaved text to POST /templates/preview (which stores nothing),
 * and the panel shows the flagged words and the message as sent. Saving goes through the same
 * check on the gateway; a refused save keeps the text and says what to change.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../../shared/api.ts';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, Field, Notice } from '../kit/ui.tsx';
import { toFlags } from './lint-findings.ts';
import { LintPanel, type CheckState } from './lint-panel.tsx';
import { TEMPLATE_MESSAGES } from './messages.ts';
import { TIME_WORDS, type Channel, type TemplatePreview, type TemplateVersion, type TimeWord } from './types.ts';
import { ChannelField } from './channel-field.tsx';

export interface Draft {
  /** Set when editing a saved template (its name and channel stay). */
  readonly id: string | undefined;
  readonly name: string;
  readonly channel: Channel;
  readonly subject: string;
  readonly body: string;
}

export const NEW_DRAFT: Draft = {
  id: undefined,
  name: '',
  channel: 'sms',
  subject: '',
  body: 'This is {{clinic_name}}. You have a visit {{time_word}}. Details: {{portal_link}} {{opt_out}}',
};

const PLACEHOLDERS: readonly (readonly [string, string])[] = [
  ['clinic_name', 'the clinic’s name (required)'],
  ['time_word', 'today, tomorrow or soon'],
  ['portal_link', 'the portal sign-in link'],
  ['visit_link', 'this visit’s link'],
  ['opt_out', 'how to opt out (required)'],
];

const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const DEBOUNCE_MS = 350;

/** Checks the draft a moment after it stops changing; answers that arrive out of order are dropped. */
function useLiveCheck(draft: Draft, timeWord: TimeWord): CheckState {
  const { call } = useConsole();
  const [check, setCheck] = useState<CheckState>({ name: 'idle' });
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    if (draft.body.trim() === '') {
      setCheck({ name: 'idle' });
      return;
    }
    setCheck({ name: 'checking' });
    const timer = window.setTimeout(() => {
      const body = { channel: draft.channel, body: draft.body, timeWord, ...(draft.channel === 'email' ? { subject: draft.subject } : {}) };
      call<TemplatePreview>('/templates/preview', { body })
        .then((preview) => {
          if (mine === seq.current) setCheck({ name: 'done', preview, flags: toFlags(preview.problems, { subject: draft.subject, body: draft.body }) });
        })
        .catch((error: unknown) => {
          if (mine === seq.current) setCheck({ name: 'failed', error });
        });
    }, DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [draft.channel, draft.subject, draft.body, timeWord]);
  return check;
}

export function TemplateEditor(props: { initial: Draft; onSaved: (t: TemplateVersion) => void; onClose: () => void }): JSX.Element {
  const { call } = useConsole();
  const [draft, setDraft] = useState<Draft>(props.initial);
  const [timeWord, setTimeWord] = useState<TimeWord>('tomorrow');
  const [nameProblem, setNameProblem] = useState<string | undefined>(undefined);
  const [subjectProblem, setSubjectProblem] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const bodyRef = useRef<HTMLTextAreaElement>(null);
  const check = useLiveCheck(draft, timeWord);
  const set = (patch: Partial<Draft>): void => {
    setDraft({ ...draft, ...patch });
    setSaved(undefined);
  };

  const insert = (token: string): void => {
    const el = bodyRef.current;
    const text = `{{${token}}}`;
    const at = el?.selectionStart ?? draft.body.length;
    const end = el?.selectionEnd ?? at;
    set({ body: draft.body.slice(0, at) + text + draft.body.slice(end) });
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(at + text.length, at + text.length);
    });
  };

  const save = async (): Promise<void> => {
    if (!NAME_RE.test(draft.name)) return setNameProblem('Use lower-case letters, digits, - and _ (up to 64), starting with a letter or digit.');
    setNameProblem(undefined);
    if (draft.channel === 'email' && draft.subject.trim() === '') return setSubjectProblem('An e-mail needs a subject, for example “A reminder from {{clinic_name}}”.');
    setSubjectProblem(undefined);
    setError(undefined);
    try {
      const body = { name: draft.name, channel: draft.channel, body: draft.body, ...(draft.channel === 'email' ? { subject: draft.subject } : {}) };
      const t = await call<TemplateVersion>('/templates', { body });
      setDraft({ ...draft, id: t.id });
      setSaved(t.version === 1 && draft.id === undefined ? `Saved “${t.name}” as version 1.` : `Saved “${t.name}”, version ${t.version}.`);
      props.onSaved(t);
    } catch (err) {
      setError(err);
    }
  };

  // A refusal lists what the gateway's check found (rule and position, never the text).
  const refusedBecause = error instanceof ApiError && error.code === 'template_rejected' && Array.isArray(error.extra['fields']) ? (error.extra['fields'] as { message?: unknown }[]) : [];

  return (
    <section class="card" aria-labelledby="editor-title" data-testid="template-editor">
      <h2 id="editor-title">{draft.id === undefined ? 'New template' : `Edit “${draft.name}”`}</h2>
      <div class="editor">
        <div class="form">
          <Field label="Name" hint="Lower-case letters, digits, - and _. Saving under the same name adds a new version." problem={nameProblem}>
            {(id, describedBy) => (
              <input id={id} data-testid="template-name" value={draft.name} readOnly={draft.id !== undefined} maxLength={64} aria-describedby={describedBy} aria-invalid={nameProblem !== undefined} onInput={(e) => set({ name: e.currentTarget.value })} />
            )}
          </Field>
          <ChannelField testId="template-channel" value={draft.channel} disabled={draft.id !== undefined} onChange={(channel) => set({ channel })} />
          {draft.channel === 'email' ? (
            <Field label="Subject" hint="May use {{clinic_name}} and {{time_word}}." problem={subjectProblem}>
              {(id, describedBy) => <input id={id} data-testid="template-subject" maxLength={200} value={draft.subject} aria-describedby={describedBy} onInput={(e) => set({ subject: e.currentTarget.value })} />}
            </Field>
          ) : null}
          <Field label="Message" hint="Say only that there is a visit and where to sign in: no names, dates, times or reasons for the visit.">
            {(id, describedBy) => (
              <textarea id={id} ref={bodyRef} data-testid="template-body" maxLength={2000} value={draft.body} aria-describedby={describedBy} onInput={(e) => set({ body: e.currentTarget.value })} />
            )}
          </Field>
          <div class="placeholders" role="group" aria-label="Insert a placeholder">
            {PLACEHOLDERS.map(([token, what]) => (
              <button type="button" key={token} class="chip" title={what} aria-label={`Insert ${token}: ${what}`} onClick={() => insert(token)}>
                {`{{${token}}}`}
              </button>
            ))}
          </div>
          <Field label="Preview with">
            {(id) => (
              <select id={id} value={timeWord} onChange={(e) => setTimeWord(e.currentTarget.value as TimeWord)}>
                {TIME_WORDS.map((w) => (
                  <option key={w} value={w}>
                    “{w}”
                  </option>
                ))}
              </select>
            )}
          </Field>
          <ErrorNote error={error} own={TEMPLATE_MESSAGES} />
          {refusedBecause.length === 0 ? null : (
            <ul class="findings" data-testid="save-refusal">
              {refusedBecause.map((f, i) => (
                <li key={i}>{typeof f.message === 'string' ? f.message : 'a problem'}</li>
              ))}
            </ul>
          )}
          {saved === undefined ? null : <Notice testId="template-saved">{saved}</Notice>}
          <div class="row">
            <Button kind="primary" testId="template-save" onClick={save}>
              Save template
            </Button>
            <Button onClick={props.onClose}>Close editor</Button>
          </div>
        </div>
        <LintPanel check={check} body={draft.body} />
      </div>
    </section>
  );
}
