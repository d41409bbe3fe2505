// Minimal rows for the appointment, visit-link, enrollment and break-glass tests, inserted in
// plain SQL so these suites do not depend on the patient or user stores.
import { randomBytes, randomUUID } from 'node:crypto';
import { ActorType } from '../../audit/index.ts';
import type { Sql } from '../../db/types.ts';
import { AppError } from '../../errors.ts';
import type { StaffRole } from '../../identity/principal.ts';
import type { ActionContext } from '../action-context.ts';

export async function insertPatient(sql: Sql): Promise<string> {
  const id = randomUUID();
  await sql.query('INSERT INTO patients (id) VALUES ($1)', [id]);
  return id;
}

export async function insertStaff(sql: Sql, role: StaffRole, opts: { disabled?: boolean } = {}): Promise<string> {
  const id = randomUUID();
  const username = `u${randomBytes(6).toString('hex')}`;
  await sql.query(
    `INSERT INTO users (id, kind, role, username, display_name, status) VALUES ($1, 'staff', $2, $3, $4, $5)`,
    [id, role, username, `Staff ${username}`, opts.disabled === true ? 'disabled' : 'active'],
  );
  return id;
}

export async function insertClinic(sql: Sql, opts: { archived?: boolean } = {}): Promise<string> {
  const id = randomUUID();
  await sql.query(`INSERT INTO clinics (id, name, time_zone, archived_at) VALUES ($1, $2, 'America/Chicago', $3)`, [
    id,
    `Clinic ${randomBytes(6).toString('hex')}`,
    opts.archived === true ? new Date() : null,
  ]);
  return id;
}

export async function markErased(sql: Sql, patientId: string): Promise<void> {
  await sql.query('DELETE FROM patient_keys WHERE patient_id = $1', [patientId]);
  await sql.query('UPDATE patients SET erased_at = now() WHERE id = $1', [patientId]);
}

export const userCtx = (userId: string): ActionContext => ({ actorType: ActorType.user, actorId: userId, requestId: `req-${randomUUID()}`, ip: '192.0.2.7' });
export const ANON_CTX: ActionContext = { actorType: ActorType.anonymous, actorId: null, ip: '198.51.100.9' };

export interface AuditRowView {
  action: string;
  actor_type: string;
  actor_id: string | null;
  outcome: string;
  patient_id: string | null;
  resource_id: string | null;
  break_glass: boolean;
  details: Record<string, unknown>;
}

export function auditRows(sql: Sql, action?: string): Promise<AuditRowView[]> {
  return sql.query<AuditRowView>(
    `SELECT action, actor_type, actor_id, outcome, patient_id, resource_id, break_glass, details FROM audit_log
      WHERE $1::text IS NULL OR action = $1 ORDER BY seq`,
    [action ?? null],
  );
}

/** The AppError `p` rejects with (fails the test if it resolves or rejects with anything else). */
export async function rejects(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return err;
}
