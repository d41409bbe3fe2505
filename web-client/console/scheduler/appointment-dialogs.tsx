/**
 * Rescheduling (new start and length, and optionally another clinic) and cancelling an
 * appointment, each in a modal dialog that stays open with the scheduler's input when the
 * gateway refuses, saying why.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { fieldProblems } from '../kit/errors.ts';
import { useConsole } from '../kit/session.ts';
import { Button, Dialog, ErrorNote, Field } from '../kit/ui.tsx';
import { LENGTHS } from './booking-form.tsx';
import { dateTimeValue, formatDay, formatTime, fromDateTimeValue } from './datetime.ts';
import { APPOINTMENT_MESSAGES } from './messages.ts';
import type { Appointment, Clinic } from './types.ts';

/** Keep the clinic as it is (the gateway's "omit"), move it, or take it off any clinic (null). */
const KEEP = 'keep';
const NONE = 'none';

export function RescheduleDialog(props: { appointment: Appointment; clinics: readonly Clinic[]; onClose: () => void; onDone: () => void }): JSX.Element {
  const { call } = useConsole();
  const a = props.appointment;
  const currentMinutes = Math.round((Date.parse(a.endsAt) - Date.parse(a.startsAt)) / 60_000);
  const [start, setStart] = useState(dateTimeValue(new Date(a.startsAt)));
  const [minutes, setMinutes] = useState(String(currentMinutes));
  const [clinic, setClinic] = useState(KEEP);
  const [problems, setProblems] = useState<Readonly<Record<string, string>>>({});
  const [error, setError] = useState<unknown>(undefined);
  const lengths = [...new Set([...LENGTHS, currentMinutes])].sort((x, y) => x - y);

  const save = async (): Promise<void> => {
    const startsAt = fromDateTimeValue(start);
    if (startsAt === undefined) return setProblems({ startsAt: 'Enter the new date and time.' });
    setProblems({});
    setError(undefined);
    try {
      const endsAt = new Date(startsAt.getTime() + Number(minutes) * 60_000);
      const clinicId = clinic === KEEP ? {} : { clinicId: clinic === NONE ? null : clinic };
      await call(`/appointments/${encodeURIComponent(a.id)}/reschedule`, { body: { startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString(), ...clinicId } });
      props.onClose();
      props.onDone();
    } catch (err) {
      setError(err);
      setProblems(fieldProblems(err));
    }
  };

  return (
    <Dialog open title="Reschedule the appointment" onCancel={props.onClose} testId="reschedule-dialog">
      <div class="form">
        <p class="muted">
          Now: {formatDay(a.startsAt)} at {formatTime(a.startsAt)}.
        </p>
        <Field label="New start" problem={problems['startsAt'] ?? problems['endsAt']}>
          {(id, describedBy) => <input id={id} type="datetime-local" data-testid="reschedule-start" value={start} aria-describedby={describedBy} onInput={(e) => setStart(e.currentTarget.value)} />}
        </Field>
        <Field label="Length">
          {(id) => (
            <select id={id} value={minutes} onChange={(e) => setMinutes(e.currentTarget.value)}>
              {lengths.map((m) => (
                <option key={m} value={String(m)}>
                  {m} minutes
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Clinic" problem={problems['clinicId']}>
          {(id) => (
            <select id={id} value={clinic} onChange={(e) => setClinic(e.currentTarget.value)}>
              <option value={KEEP}>Keep as it is</option>
              <option value={NONE}>No clinic</option>
              {props.clinics
                .filter((c) => c.archivedAt === null)
                .map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
            </select>
          )}
        </Field>
        <ErrorNote error={error} own={APPOINTMENT_MESSAGES} />
        <div class="row">
          <Button kind="primary" testId="reschedule-save" onClick={save}>
            Move appointment
          </Button>
          <Button onClick={props.onClose}>Keep it as it was</Button>
        </div>
      </div>
    </Dialog>
  );
}

export function CancelDialog(props: { appointment: Appointment; onClose: () => void; onDone: () => void }): JSX.Element {
  const { call } = useConsole();
  const [error, setError] = useState<unknown>(undefined);
  const cancel = async (): Promise<void> => {
    try {
      await call(`/appointments/${encodeURIComponent(props.appointment.id)}/cancel`, { method: 'POST' });
      props.onClose();
      props.onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog open role="alertdialog" title="Cancel the appointment?" onCancel={props.onClose} testId="cancel-dialog">
      <p>
        {formatDay(props.appointment.startsAt)} at {formatTime(props.appointment.startsAt)}. Its visit links stop working and reminders not yet sent are skipped.
      </p>
      <ErrorNote error={error} own={APPOINTMENT_MESSAGES} />
      <div class="row">
        <Button kind="danger" testId="cancel-confirm" onClick={cancel}>
          Cancel appointment
        </Button>
        <Button onClick={props.onClose}>Keep appointment</Button>
      </div>
    </Dialog>
  );
}
