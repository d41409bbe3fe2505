/**
 * Patients and their communication consent: for each patient, the current state per channel
 * (SMS, e-mail) and purpose (appointment reminders, general outreach) from the consent ledger,
 * its history, and recording a change (granted or revoked) with how it was given and where the
 * evidence is filed. Only consent: schedulers never see message metadata.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, Notice, useLoad } from '../kit/ui.tsx';
import { ConsentDialog, HistoryDialog } from './consent-dialog.tsx';
import { usePatients } from './directory.ts';
import { CHANNELS, CHANNEL_NAMES, PURPOSES, PURPOSE_NAMES, patientName, type Channel, type ConsentView, type PatientContact, type Purpose } from './types.ts';

const SHORT_CHANNEL: Readonly<Record<Channel, string>> = { sms: 'SMS', email: 'E-mail' };
const COLUMNS: readonly (readonly [Channel, Purpose])[] = CHANNELS.flatMap((c) => PURPOSES.map((p) => [c, p] as const));

export function ConsentView(): JSX.Element {
  const patients = usePatients();
  const [notice, setNotice] = useState<string | undefined>(undefined);
  return (
    <section class="card" aria-labelledby="consent-title">
      <h2 id="consent-title">Patients and consent</h2>
      <p class="muted">
        Reminders go out only on a channel and for a purpose the patient agreed to. “No record” means no consent: nothing is sent. Changes the patient makes by texting STOP or using an e-mail unsubscribe link show
        up here by themselves.
      </p>
      {notice === undefined ? null : <Notice testId="consent-notice">{notice}</Notice>}
      <ErrorNote error={patients.error} />
      <div class="table-wrap">
        <table data-testid="consent-table">
          <caption>Consent by patient {patients.loading ? '(loading…)' : `(${patients.data?.length ?? 0} newest patients)`}</caption>
          <thead>
            <tr>
              <th scope="col">Patient</th>
              {COLUMNS.map(([c, p]) => (
                <th scope="col" key={`${c}-${p}`}>
                  {SHORT_CHANNEL[c]}: {PURPOSE_NAMES[p]}
                </th>
              ))}
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {patients.data?.length === 0 ? (
              <tr>
                <td colSpan={COLUMNS.length + 2} class="muted">
                  No patients yet.
                </td>
              </tr>
            ) : (
              (patients.data ?? []).map((p) => <ConsentRow key={p.id} patient={p} onRecorded={setNotice} />)
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ConsentRow({ patient, onRecorded }: { patient: PatientContact; onRecorded: (message: string) => void }): JSX.Element {
  const { call } = useConsole();
  const consent = useLoad(() => call<ConsentView>(`/patients/${encodeURIComponent(patient.id)}/consent`), [patient.id]);
  const [recording, setRecording] = useState(false);
  const [history, setHistory] = useState(false);
  const name = patientName(patient);
  const current = (channel: Channel, purpose: Purpose) => consent.data?.current.find((r) => r.channel === channel && r.purpose === purpose);

  return (
    <tr data-testid="consent-row" data-patient={patient.id}>
      <th scope="row">
        {name}
        <br />
        <small class="muted">
          {patient.phone === null ? 'No phone on file' : 'Phone on file'} · {patient.email === null ? 'no e-mail on file' : 'e-mail on file'}
        </small>
      </th>
      {COLUMNS.map(([c, p]) => {
        const r = current(c, p);
        const testId = `consent-${c}-${p}`;
        if (consent.error !== undefined) return <td key={testId}>—</td>;
        if (consent.data === undefined) return <td key={testId} class="muted">…</td>;
        return (
          <td key={testId} data-testid={testId}>
            {r === undefined ? (
              <span class="badge">No record</span>
            ) : (
              <span class={`badge ${r.state === 'granted' ? 'ok' : 'bad'}`} title={`Version ${r.version}`}>
                {r.state === 'granted' ? 'Granted' : 'Revoked'}
              </span>
            )}
          </td>
        );
      })}
      <td>
        {consent.error === undefined ? null : <ErrorNote error={consent.error} />}
        <span class="row">
          <Button testId="record-consent" label={`Record consent for ${name}`} onClick={() => setRecording(true)}>
            Record change
          </Button>
          <Button testId="consent-history" label={`Consent history of ${name}`} onClick={() => setHistory(true)}>
            History
          </Button>
        </span>
        {recording ? (
          <ConsentDialog
            patient={patient}
            onClose={() => setRecording(false)}
            onRecorded={(channel, purpose, state) => {
              consent.reload();
              onRecorded(`Recorded for ${name}: ${CHANNEL_NAMES[channel]}, ${PURPOSE_NAMES[purpose]} — ${state}.`);
            }}
          />
        ) : null}
        {history && consent.data !== undefined ? <HistoryDialog name={name} history={consent.data.history} onClose={() => setHistory(false)} /> : null}
      </td>
    </tr>
  );
}
