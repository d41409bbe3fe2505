/**
 * Booking an appointment: patient, provider, optional clinic, start (the browser's time zone) and
 * length. The form keeps everything typed when the gateway refuses, and marks the fields it named.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { fieldProblems } from '../kit/errors.ts';
import { useConsole } from '../kit/session.ts';
import { ErrorNote, Field } from '../kit/ui.tsx';
import { fromDateTimeValue } from './datetime.ts';
import { APPOINTMENT_MESSAGES } from './messages.ts';
import { patientName, type Appointment, type Clinic, type PatientContact, type Provider } from './types.ts';

export const LENGTHS = [15, 20, 30, 45, 60, 90] as const;

export function BookingForm(props: { providers: readonly Provider[]; clinics: readonly Clinic[]; patients: readonly PatientContact[]; onBooked: (a: Appointment) => void }): JSX.Element {
  const { call } = useConsole();
  const [form, setForm] = useState({ patientId: '', providerId: '', clinicId: '', start: '', minutes: '30' });
  const [problems, setProblems] = useState<Readonly<Record<string, string>>>({});
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<typeof form>): void => setForm({ ...form, ...patch });
  const providerId = form.providerId !== '' ? form.providerId : (props.providers[0]?.id ?? '');
  const live = props.clinics.filter((c) => c.archivedAt === null);

  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    const own: Record<string, string> = {};
    const start = fromDateTimeValue(form.start);
    if (form.patientId === '') own['patientId'] = 'Choose the patient.';
    if (providerId === '') own['providerId'] = 'Choose the provider.';
    if (start === undefined) own['startsAt'] = 'Enter the date and time the visit starts.';
    else if (start.getTime() < Date.now() - 60_000) own['startsAt'] = 'This time has passed. Choose a time in the future.';
    setProblems(own);
    setError(undefined);
    if (Object.keys(own).length > 0 || start === undefined) return;
    setBusy(true);
    try {
      const endsAt = new Date(start.getTime() + Number(form.minutes) * 60_000);
      const booked = await call<Appointment>('/appointments', {
        body: { patientId: form.patientId, providerId, startsAt: start.toISOString(), endsAt: endsAt.toISOString(), ...(form.clinicId === '' ? {} : { clinicId: form.clinicId }) },
      });
      setForm({ ...form, patientId: '', start: '' });
      props.onBooked(booked);
    } catch (err) {
      setError(err);
      setProblems(fieldProblems(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="form grid2" data-testid="booking-form" onSubmit={(ev) => void submit(ev)} noValidate>
      <Field label="Patient" problem={problems['patientId']} hint={props.patients.length === 0 ? 'No patients yet: register the patient first.' : undefined}>
        {(id, describedBy) => (
          <select id={id} data-testid="book-patient" value={form.patientId} aria-describedby={describedBy} aria-invalid={problems['patientId'] !== undefined} onChange={(e) => set({ patientId: e.currentTarget.value })}>
            <option value="">Choose a patient…</option>
            {props.patients.map((p) => (
              <option key={p.id} value={p.id}>
                {patientName(p)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Provider" problem={problems['providerId']}>
        {(id, describedBy) => (
          <select id={id} data-testid="book-provider" value={providerId} aria-describedby={describedBy} onChange={(e) => set({ providerId: e.currentTarget.value })}>
            {props.providers.map((p) => (
              <option key={p.id} value={p.id}>
                {p.displayName}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Clinic (optional)" problem={problems['clinicId']}>
        {(id, describedBy) => (
          <select id={id} data-testid="book-clinic" value={form.clinicId} aria-describedby={describedBy} onChange={(e) => set({ clinicId: e.currentTarget.value })}>
            <option value="">No clinic</option>
            {live.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Starts" hint="In your computer’s time zone." problem={problems['startsAt'] ?? problems['endsAt']}>
        {(id, describedBy) => (
          <input id={id} type="datetime-local" data-testid="book-start" value={form.start} aria-describedby={describedBy} aria-invalid={problems['startsAt'] !== undefined} onInput={(e) => set({ start: e.currentTarget.value })} />
        )}
      </Field>
      <Field label="Length">
        {(id) => (
          <select id={id} data-testid="book-length" value={form.minutes} onChange={(e) => set({ minutes: e.currentTarget.value })}>
            {LENGTHS.map((m) => (
              <option key={m} value={String(m)}>
                {m} minutes
              </option>
            ))}
          </select>
        )}
      </Field>
      <div class="form-actions">
        <ErrorNote error={error} own={APPOINTMENT_MESSAGES} />
        <button type="submit" class="primary" data-testid="book" disabled={busy} aria-busy={busy}>
          Book appointment
        </button>
      </div>
    </form>
  );
}
