/**
 * Break-glass (HIPAA 164.312(a)(2)(ii)): a provider asks for time-boxed access to a patient
 * outside their care team — the patient's id from the chart, a reason, and password + code again.
 * The gateway rotates the session on success (the console carries on with the new one), flags
 * everything done under the grant in the audit chain, and queues it for a privacy officer.
 * While the grant lasts the record can be opened here; each read is audited as break-glass.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { SessionInfo } from '../kit/session.ts';
import { useConsole } from '../kit/session.ts';
import { fieldProblems } from '../kit/errors.ts';
import { Button, ErrorNote, Field, formatDateTime } from '../kit/ui.tsx';

interface Grant {
  readonly id: string;
  readonly patientId: string;
  readonly expiresAt: string;
}

interface ClinicalView {
  readonly givenName: string;
  readonly familyName: string;
  readonly birthDate: string | null;
  readonly mrn: string | null;
  readonly phone: string | null;
  readonly email: string | null;
}

const OWN: Readonly<Record<string, string>> = {
  invalid_credentials: 'Password or code is not correct. Emergency access needs both again, even though you are signed in.',
  too_many_attempts: 'Too many attempts. Wait a few minutes, then try again.',
  not_found: 'No patient has that id. Check it against the chart.',
  patient_erased: 'That patient’s record was erased; there is nothing to access.',
  validation_failed: 'Check the marked fields: the patient id is a UUID, the reason needs at least 10 characters, the code 6 digits.',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function EmergencyAccess(): JSX.Element {
  const { call, renew } = useConsole();
  const [patientId, setPatientId] = useState('');
  const [reason, setReason] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [grants, setGrants] = useState<readonly Grant[]>([]);
  const problems = fieldProblems(error);

  const submit = async (): Promise<void> => {
    if (!UUID.test(patientId.trim())) {
      setError(new Error('bad id'));
      return;
    }
    try {
      const r = await call<{ session: SessionInfo; grant: { id: string; expiresAt: string } }>('/break-glass', {
        body: { patientId: patientId.trim(), reason: reason.trim(), password, code: code.trim() },
      });
      renew(r.session);
      setGrants((g) => [{ id: r.grant.id, patientId: patientId.trim(), expiresAt: r.grant.expiresAt }, ...g]);
      setPassword('');
      setCode('');
      setReason('');
      setPatientId('');
      setError(undefined);
    } catch (err) {
      setPassword('');
      setError(err);
    }
  };

  return (
    <div class="grid2">
      <section class="card" aria-labelledby="bg-title">
        <h2 id="bg-title">Emergency access to a patient</h2>
        <p class="warn">Use only when a patient outside your care team needs care now. Everything you do under emergency access is recorded and reviewed by the privacy officer.</p>
        {error instanceof Error && error.message === 'bad id' ? (
          <p class="error" role="alert" data-testid="error">
            The patient id is a UUID like 3f2a…-…; copy it from the chart.
          </p>
        ) : (
          <ErrorNote error={error} own={OWN} />
        )}
        <form
          class="form"
          data-testid="break-glass-form"
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <Field label="Patient id (from the chart)" problem={problems['patientId']}>
            {(id, d) => <input id={id} aria-describedby={d} data-testid="bg-patient" value={patientId} onInput={(e) => setPatientId(e.currentTarget.value)} maxLength={36} required autoComplete="off" />}
          </Field>
          <Field label="Reason" hint="At least 10 characters. Stored encrypted; read by the privacy officer." problem={problems['reason']}>
            {(id, d) => <textarea id={id} aria-describedby={d} data-testid="bg-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} minLength={10} maxLength={500} required />}
          </Field>
          <Field label="Your password" problem={problems['password']}>
            {(id, d) => <input id={id} aria-describedby={d} type="password" data-testid="bg-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} autoComplete="current-password" required />}
          </Field>
          <Field label="6-digit code from your authenticator app" problem={problems['code']}>
            {(id, d) => (
              <input id={id} aria-describedby={d} data-testid="bg-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} inputMode="numeric" pattern="[0-9]{6}" maxLength={6} autoComplete="one-time-code" required />
            )}
          </Field>
          <button type="submit" class="danger" data-testid="bg-submit">
            Request emergency access
          </button>
        </form>
      </section>
      <section class="card" aria-labelledby="grants-title">
        <h2 id="grants-title">Your emergency access</h2>
        {grants.length === 0 ? <p class="muted">None in this session.</p> : grants.map((g) => <GrantCard key={g.id} grant={g} />)}
      </section>
    </div>
  );
}

function GrantCard({ grant }: { grant: Grant }): JSX.Element {
  const { call } = useConsole();
  const [record, setRecord] = useState<ClinicalView | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 15_000);
    return () => window.clearInterval(t);
  }, []);
  const minutesLeft = Math.max(0, Math.ceil((Date.parse(grant.expiresAt) - now) / 60_000));
  return (
    <div class="card" data-testid="grant">
      <p>
        <span class={`badge ${minutesLeft > 0 ? 'warn' : ''}`} data-testid="grant-state">
          {minutesLeft > 0 ? `Active: ${minutesLeft} min left` : 'Expired'}
        </span>{' '}
        until {formatDateTime(grant.expiresAt)}
      </p>
      <ErrorNote error={error} own={OWN} />
      {record === undefined ? (
        <Button
          testId="open-record"
          disabled={minutesLeft === 0}
          onClick={async () => {
            try {
              setRecord(await call<ClinicalView>(`/patients/${grant.patientId}`));
              setError(undefined);
            } catch (err) {
              setError(err);
            }
          }}
        >
          Open the patient’s record
        </Button>
      ) : (
        <dl class="record" data-testid="record">
          <dt>Name</dt>
          <dd>
            {record.givenName} {record.familyName}
          </dd>
          <dt>Date of birth</dt>
          <dd>{record.birthDate ?? '—'}</dd>
          <dt>MRN</dt>
          <dd>{record.mrn ?? '—'}</dd>
          <dt>Phone</dt>
          <dd>{record.phone ?? '—'}</dd>
          <dt>Email</dt>
          <dd>{record.email ?? '—'}</dd>
        </dl>
      )}
    </div>
  );
}
