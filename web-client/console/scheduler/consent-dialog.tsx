/**
 * Recording a consent change for one patient (channel, purpose, granted or revoked, how it was
 * given, and an opaque reference to where the evidence is filed), and showing the patient's full
 * consent history. Evidence references are ids, never free text: the same rule as the gateway's.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { fieldProblems } from '../kit/errors.ts';
import { useConsole } from '../kit/session.ts';
import { Button, Dialog, ErrorNote, Field, formatDateTime, Table } from '../kit/ui.tsx';
import { CONSENT_MESSAGES } from './messages.ts';
import { CHANNEL_NAMES, METHOD_NAMES, PURPOSES, PURPOSE_NAMES, STAFF_METHODS, type Channel, type ConsentRecord, type PatientContact, type Purpose, type StaffMethod } from './types.ts';
import { ChannelField } from './channel-field.tsx';

const EVIDENCE_REF_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$/;
type State = 'granted' | 'revoked';

export function ConsentDialog(props: { patient: PatientContact; onClose: () => void; onRecorded: (channel: Channel, purpose: Purpose, state: State) => void }): JSX.Element {
  const { call } = useConsole();
  const [form, setForm] = useState<{ channel: Channel; purpose: Purpose; state: State; method: StaffMethod; evidenceRef: string }>({
    channel: 'sms',
    purpose: 'appointment_reminders',
    state: 'granted',
    method: 'form',
    evidenceRef: '',
  });
  const [problems, setProblems] = useState<Readonly<Record<string, string>>>({});
  const [error, setError] = useState<unknown>(undefined);
  const set = (patch: Partial<typeof form>): void => setForm({ ...form, ...patch });

  const save = async (): Promise<void> => {
    const ref = form.evidenceRef.trim();
    if (ref !== '' && !EVIDENCE_REF_RE.test(ref)) {
      return setProblems({ evidenceRef: 'Use the form or document id only: letters, digits and . _ : / - (no spaces, names or contact details).' });
    }
    setProblems({});
    setError(undefined);
    try {
      await call(`/patients/${encodeURIComponent(props.patient.id)}/consent`, {
        body: { channel: form.channel, purpose: form.purpose, state: form.state, method: form.method, ...(ref === '' ? {} : { evidenceRef: ref }) },
      });
      props.onClose();
      props.onRecorded(form.channel, form.purpose, form.state);
    } catch (err) {
      setError(err);
      setProblems(fieldProblems(err));
    }
  };

  return (
    <Dialog open title={`Record consent for ${props.patient.givenName} ${props.patient.familyName}`} onCancel={props.onClose} testId="consent-dialog">
      <div class="form">
        <ChannelField testId="consent-channel" value={form.channel} onChange={(channel) => set({ channel })} />
        <Field label="Purpose">
          {(id) => (
            <select id={id} data-testid="consent-purpose" value={form.purpose} onChange={(e) => set({ purpose: e.currentTarget.value as Purpose })}>
              {PURPOSES.map((p) => (
                <option key={p} value={p}>
                  {PURPOSE_NAMES[p]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <fieldset class="choices">
          <legend>Change</legend>
          {(['granted', 'revoked'] as const).map((s) => (
            <label key={s} class="choice">
              <input type="radio" name="consent-state" value={s} data-testid={`consent-${s}`} checked={form.state === s} onChange={() => set({ state: s })} />
              {s === 'granted' ? 'Patient agrees (grant)' : 'Patient withdraws (revoke)'}
            </label>
          ))}
        </fieldset>
        <Field label="How it was given">
          {(id) => (
            <select id={id} data-testid="consent-method" value={form.method} onChange={(e) => set({ method: e.currentTarget.value as StaffMethod })}>
              {STAFF_METHODS.map((m) => (
                <option key={m} value={m}>
                  {METHOD_NAMES[m]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Evidence reference (optional)" hint="The id of the signed form or document, e.g. form-2024-0193. Not a name or phone number." problem={problems['evidenceRef']}>
          {(id, describedBy) => (
            <input id={id} data-testid="consent-evidence" maxLength={256} value={form.evidenceRef} aria-describedby={describedBy} aria-invalid={problems['evidenceRef'] !== undefined} onInput={(e) => set({ evidenceRef: e.currentTarget.value })} />
          )}
        </Field>
        <ErrorNote error={error} own={CONSENT_MESSAGES} />
        <div class="row">
          <Button kind="primary" testId="consent-save" onClick={save}>
            Record
          </Button>
          <Button onClick={props.onClose}>Close without recording</Button>
        </div>
      </div>
    </Dialog>
  );
}

export function HistoryDialog(props: { name: string; history: readonly ConsentRecord[]; onClose: () => void }): JSX.Element {
  const rows = [...props.history]
    .sort((a, b) => b.recordedAt.localeCompare(a.recordedAt))
    .map((r) => [
      formatDateTime(r.recordedAt),
      `${CHANNEL_NAMES[r.channel]}, ${PURPOSE_NAMES[r.purpose]}`,
      <span key="s" class={`badge ${r.state === 'granted' ? 'ok' : 'bad'}`}>
        {r.state === 'granted' ? 'Granted' : 'Revoked'}
      </span>,
      METHOD_NAMES[r.method] ?? r.method,
      r.evidenceRef ?? '—',
      r.recordedBy.type === 'system' ? r.recordedBy.id : r.recordedBy.type === 'user' ? 'Staff' : 'Patient',
      String(r.version),
    ]);
  return (
    <Dialog open title={`Consent history of ${props.name}`} onCancel={props.onClose} testId="history-dialog">
      <Table caption="Every recorded change, newest first" head={['When', 'Channel and purpose', 'State', 'How', 'Evidence', 'Recorded by', 'Version']} rows={rows} empty="Nothing recorded: no consent on any channel." />
      <Button onClick={props.onClose}>Close</Button>
    </Dialog>
  );
}
