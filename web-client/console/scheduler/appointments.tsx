/**
 * Appointments: one provider's appointments over a day or a range of days, booking a new one
 * (patient, provider, optional clinic, start and length), and rescheduling or cancelling one.
 * Cancelling or moving an appointment needs no reminder bookkeeping here: reminder workers
 * re-read the appointment at send time.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, Field, Notice, Table, useLoad } from '../kit/ui.tsx';
import { CancelDialog, RescheduleDialog } from './appointment-dialogs.tsx';
import { BookingForm } from './booking-form.tsx';
import { dateValue, dayRange, formatDay, formatTime } from './datetime.ts';
import { byId, useClinics, usePatients, useProviders } from './directory.ts';
import { APPOINTMENT_MESSAGES } from './messages.ts';
import { patientName, type Appointment } from './types.ts';

const STATUS_NAMES: Readonly<Record<Appointment['status'], string>> = { scheduled: 'Scheduled', cancelled: 'Cancelled', completed: 'Completed' };

export function AppointmentsView(): JSX.Element {
  const { call } = useConsole();
  const providers = useProviders();
  const clinics = useClinics();
  const patients = usePatients();
  const today = dateValue(new Date());
  const [filter, setFilter] = useState({ providerId: '', from: today, to: today });
  const [shown, setShown] = useState<{ providerId: string; from: string; to: string } | undefined>(undefined);
  const [filterProblem, setFilterProblem] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [rescheduling, setRescheduling] = useState<Appointment | undefined>(undefined);
  const [cancelling, setCancelling] = useState<Appointment | undefined>(undefined);

  const list = useLoad(async () => {
    if (shown === undefined) return undefined;
    const range = dayRange(shown.from, shown.to);
    if (range === undefined) return undefined;
    const q = new URLSearchParams({ providerId: shown.providerId, from: range.from.toISOString(), to: range.to.toISOString() });
    return (await call<{ appointments: Appointment[] }>(`/appointments?${q.toString()}`)).appointments;
  }, [shown]);

  const patientById = byId(patients.data);
  const clinicById = byId(clinics.data);
  const providerById = byId(providers.data);
  const providerId = filter.providerId !== '' ? filter.providerId : (providers.data?.[0]?.id ?? '');

  const show = (ev: Event): void => {
    ev.preventDefault();
    if (providerId === '') return setFilterProblem('Choose a provider.');
    if (dayRange(filter.from, filter.to) === undefined) return setFilterProblem('The last day must be on or after the first day.');
    setFilterProblem(undefined);
    setShown({ providerId, from: filter.from, to: filter.to });
  };

  const rows = (list.data ?? []).map((a) => {
    const patient = patientById.get(a.patientId);
    return [
      <span key="when">
        {formatDay(a.startsAt)} {formatTime(a.startsAt)}–{formatTime(a.endsAt)}
      </span>,
      patient === undefined ? <span class="muted">Patient {a.patientId.slice(0, 8)}</span> : patientName(patient),
      a.clinicId === null ? <span class="muted">None</span> : (clinicById.get(a.clinicId)?.name ?? 'Unknown clinic'),
      <span key="status" class={`badge ${a.status === 'scheduled' ? 'ok' : a.status === 'cancelled' ? 'bad' : ''}`}>
        {STATUS_NAMES[a.status]}
      </span>,
      a.status === 'scheduled' ? (
        <span class="row" key="actions">
          <Button testId={`reschedule-${a.id}`} onClick={() => setRescheduling(a)}>
            Reschedule
          </Button>
          <Button testId={`cancel-${a.id}`} kind="danger" onClick={() => setCancelling(a)}>
            Cancel
          </Button>
        </span>
      ) : (
        <span class="muted">—</span>
      ),
    ];
  });

  const afterChange = (message: string): void => {
    setNotice(message);
    list.reload();
  };

  return (
    <>
      <section class="card" aria-labelledby="appointments-title">
        <h2 id="appointments-title">Appointments</h2>
        <ErrorNote error={providers.error ?? clinics.error ?? patients.error} />
        <form class="filters" onSubmit={show} data-testid="appointments-filter">
          <Field label="Provider" problem={filterProblem}>
            {(id, describedBy) => (
              <select id={id} data-testid="filter-provider" value={providerId} aria-describedby={describedBy} onChange={(e) => setFilter({ ...filter, providerId: e.currentTarget.value })}>
                {(providers.data ?? []).map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.displayName}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="From day">{(id) => <input id={id} type="date" data-testid="filter-from" required value={filter.from} onInput={(e) => setFilter({ ...filter, from: e.currentTarget.value })} />}</Field>
          <Field label="To day">{(id) => <input id={id} type="date" data-testid="filter-to" required value={filter.to} onInput={(e) => setFilter({ ...filter, to: e.currentTarget.value })} />}</Field>
          <button type="submit" class="primary" data-testid="show-appointments">
            Show
          </button>
        </form>
        {providers.data !== undefined && providers.data.length === 0 ? <p class="warn">No providers yet. An administrator adds provider accounts.</p> : null}
        {notice === undefined ? null : <Notice testId="appointments-notice">{notice}</Notice>}
        <ErrorNote error={list.error} own={APPOINTMENT_MESSAGES} />
        {shown === undefined ? (
          <p class="muted">Choose a provider and days, then Show.</p>
        ) : (
          <Table
            testId="appointments-table"
            rowTestId="appointment-row"
            caption={`${providerById.get(shown.providerId)?.displayName ?? 'Provider'}: ${shown.from === shown.to ? shown.from : `${shown.from} to ${shown.to}`}${list.loading ? ' (loading…)' : ''}`}
            head={['When', 'Patient', 'Clinic', 'Status', 'Actions']}
            rows={rows}
            empty="No appointments in these days."
          />
        )}
      </section>
      <section class="card" aria-labelledby="book-title">
        <h2 id="book-title">Book an appointment</h2>
        <BookingForm
          providers={providers.data ?? []}
          clinics={clinics.data ?? []}
          patients={patients.data ?? []}
          onBooked={(a) => {
            const patient = patientById.get(a.patientId);
            setNotice(`Booked ${patient === undefined ? 'the appointment' : `for ${patientName(patient)}`} on ${formatDay(a.startsAt)} at ${formatTime(a.startsAt)}.`);
            const day = dateValue(new Date(a.startsAt));
            setFilter({ providerId: a.providerId, from: day, to: day });
            setShown({ providerId: a.providerId, from: day, to: day });
          }}
        />
      </section>
      {rescheduling === undefined ? null : (
        <RescheduleDialog appointment={rescheduling} clinics={clinics.data ?? []} onClose={() => setRescheduling(undefined)} onDone={() => afterChange('The appointment was moved. Pending reminders follow it.')} />
      )}
      {cancelling === undefined ? null : <CancelDialog appointment={cancelling} onClose={() => setCancelling(undefined)} onDone={() => afterChange('The appointment was cancelled. Its pending reminders will not be sent.')} />}
    </>
  );
}
