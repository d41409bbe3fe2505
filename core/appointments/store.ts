/**
 * Appointments: a patient, a provider, a time window and, optionally, the clinic (site) it takes
 * place at. The minimum the identity layer needs (visit links are bound to one; the visit-scoped
 * session ends with it); the reminders issue extends it. Writes are audited in the same
 * transaction, with ids only: an appointment's time is PHI-adjacent and stays out of the chain.
 * Who may book or read is the access policy's job.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AuditAction, AuditOutcome, type AuditLog } from '../audit/index.ts';
import type { Db, Sql } from '../db/types.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { actorFields, isUuid, type ActionContext } from './action-context.ts';

export const AppointmentStatus = { scheduled: 'scheduled', cancelled: 'cancelled', completed: 'completed' } as const;
export type AppointmentStatus = (typeof AppointmentStatus)[keyof typeof AppointmentStatus];

export interface Appointment {
  readonly id: string;
  readonly patientId: string;
  readonly providerId: string;
  readonly startsAt: Date;
  readonly endsAt: Date;
  readonly status: AppointmentStatus;
  /** The clinic (site) it takes place at; null for none (single-site deployments, older rows). */
  readonly clinicId: string | null;
}

export interface AppointmentInput {
  readonly patientId: string;
  readonly providerId: string;
  readonly startsAt: Date;
  readonly endsAt: Date;
  /** A live (not archived) clinic; absent or null for none. */
  readonly clinicId?: string | null;
}

/** What a reschedule changes: always the times; the clinic only when `clinicId` is present (null detaches it). */
export interface AppointmentMove {
  readonly startsAt: Date;
  readonly endsAt: Date;
  readonly clinicId?: string | null;
}

/** Codes this store throws beyond the shared ones (`validation_failed`, `not_found`). */
export const AppointmentErrorCode = {
  /** 409: a completed appointment cannot be cancelled. */
  completed: 'appointment_completed',
} as const;
export type AppointmentErrorCode = (typeof AppointmentErrorCode)[keyof typeof AppointmentErrorCode];

export const APPOINTMENT_LIMITS = {
  maxDurationMs: 12 * 60 * 60_000,
  /** listForProvider: the widest window one call may ask for. */
  maxWindowMs: 366 * 24 * 60 * 60_000,
  maxListRows: 1000,
} as const;

/** The booking body as routes receive it (ISO 8601 with offset); convert with `new Date(...)`. */
export const AppointmentInputSchema = z.strictObject({
  patientId: z.uuid(),
  providerId: z.uuid(),
  startsAt: z.iso.datetime({ offset: true }),
  endsAt: z.iso.datetime({ offset: true }),
  clinicId: z.uuid().nullable().optional(),
});

export interface AppointmentStore {
  /**
   * Validates (active provider, end after start, at most 12 h, live patient, live clinic when one
   * is named) and books; audited `appointment.create`. A clinic that is unknown or archived is a
   * 400 naming `clinicId`.
   */
  create(input: AppointmentInput, ctx: ActionContext): Promise<Appointment>;
  /** null when unknown (or not a UUID). */
  get(id: string): Promise<Appointment | null>;
  /** Appointments overlapping [from, to), by start time. At most 1000; the window at most 366 days. */
  listForProvider(providerId: string, from: Date, to: Date): Promise<Appointment[]>;
  /** The patient's appointments by start time (at most 1000, newest kept). */
  listForPatient(patientId: string): Promise<Appointment[]>;
  /**
   * Moves a scheduled appointment to new times and, when `clinicId` is present, to another clinic
   * (a live one, as when booking) or to none (null). Audited `appointment.update` with the
   * duration (and the clinic id when it was given) only. Its visit links and pending reminders
   * follow: both read the appointment when used. 409 when it is cancelled or completed.
   */
  reschedule(id: string, move: AppointmentMove, ctx: ActionContext): Promise<Appointment>;
  /** Audited `appointment.cancel`. Cancelling a cancelled appointment returns it unchanged (no new record). 409 when completed. */
  cancel(id: string, ctx: ActionContext): Promise<Appointment>;
}

interface AppointmentRow {
  id: string;
  patient_id: string;
  provider_id: string;
  starts_at: Date;
  ends_at: Date;
  status: AppointmentStatus;
  clinic_id: string | null;
}

const COLUMNS = 'id, patient_id, provider_id, starts_at, ends_at, status, clinic_id';

function toAppointment(r: AppointmentRow): Appointment {
  return { id: r.id, patientId: r.patient_id, providerId: r.provider_id, startsAt: r.starts_at, endsAt: r.ends_at, status: r.status, clinicId: r.clinic_id };
}

function invalid(path: string, message: string): AppError {
  return new AppError(400, ErrorCode.validation, 'appointment input failed validation', { fields: [{ path, message }] });
}

function validDate(d: Date): boolean {
  return d instanceof Date && Number.isFinite(d.getTime());
}

function checkTimes(startsAt: Date, endsAt: Date): void {
  if (!validDate(startsAt)) throw invalid('startsAt', 'Expected a valid date-time');
  if (!validDate(endsAt)) throw invalid('endsAt', 'Expected a valid date-time');
  const ms = endsAt.getTime() - startsAt.getTime();
  if (ms <= 0) throw invalid('endsAt', 'Must be after startsAt');
  if (ms > APPOINTMENT_LIMITS.maxDurationMs) throw invalid('endsAt', 'An appointment lasts at most 12 hours');
}

/**
 * A named clinic must exist and not be archived. FOR SHARE: an archive running concurrently
 * waits for this booking instead of slipping in between the check and the write.
 */
async function checkClinic(tx: Sql, clinicId: string): Promise<void> {
  if (!isUuid(clinicId)) throw invalid('clinicId', 'Expected a UUID');
  const live = await tx.query('SELECT 1 FROM clinics WHERE id = $1 AND archived_at IS NULL FOR SHARE', [clinicId]);
  if (live.length === 0) throw invalid('clinicId', 'No such clinic, or it is archived');
}

export function createAppointmentStore(deps: { readonly db: Db; readonly audit: AuditLog }): AppointmentStore {
  const { db, audit } = deps;

  const get = async (sql: Sql, id: string): Promise<Appointment | null> => {
    if (!isUuid(id)) return null;
    const [row] = await sql.query<AppointmentRow>(`SELECT ${COLUMNS} FROM appointments WHERE id = $1`, [id]);
    return row ? toAppointment(row) : null;
  };

  return {
    async create(input, ctx) {
      checkTimes(input.startsAt, input.endsAt);
      if (!isUuid(input.providerId)) throw invalid('providerId', 'Expected a UUID');
      if (!isUuid(input.patientId)) throw invalid('patientId', 'Expected a UUID');
      const clinicId = input.clinicId ?? null;
      if (clinicId !== null && !isUuid(clinicId)) throw invalid('clinicId', 'Expected a UUID');
      return db.transaction(async (tx) => {
        const provider = await tx.query(
          `SELECT 1 FROM users WHERE id = $1 AND kind = 'staff' AND role = 'provider' AND status = 'active'`,
          [input.providerId],
        );
        if (provider.length === 0) throw invalid('providerId', 'Not an active provider');
        // FOR SHARE: an erase running concurrently cannot slip in between this check and the insert.
        const patient = await tx.query('SELECT 1 FROM patients WHERE id = $1 AND erased_at IS NULL FOR SHARE', [input.patientId]);
        if (patient.length === 0) throw new AppError(404, ErrorCode.notFound, 'patient not found');
        if (clinicId !== null) await checkClinic(tx, clinicId);
        const id = randomUUID();
        const [row] = await tx.query<AppointmentRow>(
          `INSERT INTO appointments (id, patient_id, provider_id, starts_at, ends_at, clinic_id, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
          [id, input.patientId, input.providerId, input.startsAt, input.endsAt, clinicId, isUuid(ctx.actorId ?? '') ? ctx.actorId : null],
        );
        if (!row) throw new Error('appointment insert returned no row');
        await audit.append(
          {
            ...actorFields(ctx),
            action: AuditAction.appointmentCreate,
            resourceType: 'appointment',
            resourceId: id,
            patientId: input.patientId,
            outcome: AuditOutcome.success,
            details: { providerId: input.providerId, clinicId, durationMinutes: Math.round((input.endsAt.getTime() - input.startsAt.getTime()) / 60_000) },
          },
          tx,
        );
        return toAppointment(row);
      });
    },

    get: (id) => get(db, id),

    async listForProvider(providerId, from, to) {
      if (!validDate(from)) throw invalid('from', 'Expected a valid date-time');
      if (!validDate(to)) throw invalid('to', 'Expected a valid date-time');
      if (to.getTime() <= from.getTime()) throw invalid('to', 'Must be after from');
      if (to.getTime() - from.getTime() > APPOINTMENT_LIMITS.maxWindowMs) throw invalid('to', 'The window is at most 366 days');
      if (!isUuid(providerId)) return [];
      const rows = await db.query<AppointmentRow>(
        `SELECT ${COLUMNS} FROM appointments
          WHERE provider_id = $1 AND starts_at < $3 AND ends_at > $2
          ORDER BY starts_at, id LIMIT ${APPOINTMENT_LIMITS.maxListRows}`,
        [providerId, from, to],
      );
      return rows.map(toAppointment);
    },

    async listForPatient(patientId) {
      if (!isUuid(patientId)) return [];
      const rows = await db.query<AppointmentRow>(
        `SELECT * FROM (SELECT ${COLUMNS} FROM appointments WHERE patient_id = $1 ORDER BY starts_at DESC, id DESC LIMIT ${APPOINTMENT_LIMITS.maxListRows}) AS recent
          ORDER BY starts_at, id`,
        [patientId],
      );
      return rows.map(toAppointment);
    },

    async reschedule(id, move, ctx) {
      checkTimes(move.startsAt, move.endsAt);
      // Absent: the clinic stays as it is (even an archived one); present: a live clinic, or null for none.
      const moveClinic = move.clinicId !== undefined;
      const clinicId = move.clinicId ?? null;
      if (clinicId !== null && !isUuid(clinicId)) throw invalid('clinicId', 'Expected a UUID');
      if (!isUuid(id)) throw new AppError(404, ErrorCode.notFound, 'appointment not found');
      return db.transaction(async (tx) => {
        if (clinicId !== null) await checkClinic(tx, clinicId);
        const [row] = await tx.query<AppointmentRow>(
          `UPDATE appointments SET starts_at = $2, ends_at = $3, clinic_id = CASE WHEN $4::boolean THEN $5::uuid ELSE clinic_id END, updated_at = now()
            WHERE id = $1 AND status = 'scheduled' RETURNING ${COLUMNS}`,
          [id, move.startsAt, move.endsAt, moveClinic, clinicId],
        );
        if (!row) {
          const current = await get(tx, id);
          if (current === null) throw new AppError(404, ErrorCode.notFound, 'appointment not found');
          throw new AppError(409, ErrorCode.conflict, `A ${current.status} appointment cannot be rescheduled`);
        }
        await audit.append(
          {
            ...actorFields(ctx),
            action: AuditAction.appointmentUpdate,
            resourceType: 'appointment',
            resourceId: id,
            patientId: row.patient_id,
            outcome: AuditOutcome.success,
            details: { durationMinutes: Math.round((move.endsAt.getTime() - move.startsAt.getTime()) / 60_000), ...(moveClinic ? { clinicId } : {}) },
          },
          tx,
        );
        return toAppointment(row);
      });
    },

    async cancel(id, ctx) {
      if (!isUuid(id)) throw new AppError(404, ErrorCode.notFound, 'appointment not found');
      return db.transaction(async (tx) => {
        const [row] = await tx.query<AppointmentRow>(
          `UPDATE appointments SET status = 'cancelled', updated_at = now()
            WHERE id = $1 AND status = 'scheduled' RETURNING ${COLUMNS}`,
          [id],
        );
        if (!row) {
          const current = await get(tx, id);
          if (current === null) throw new AppError(404, ErrorCode.notFound, 'appointment not found');
          if (current.status === AppointmentStatus.cancelled) return current;
          throw new AppError(409, AppointmentErrorCode.completed, 'A completed appointment cannot be cancelled');
        }
        await audit.append(
          {
            ...actorFields(ctx),
            action: AuditAction.appointmentCancel,
            resourceType: 'appointment',
            resourceId: id,
            patientId: row.patient_id,
            outcome: AuditOutcome.success,
          },
          tx,
        );
        return toAppointment(row);
      });
    },
  };
}
