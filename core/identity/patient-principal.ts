/**
 * A patient's principal (users row of kind `patient`), created the first time the patient signs
 * in by any route (visit link, messaging enrollment). One per patient record; never has a role.
 */
import { randomUUID } from 'node:crypto';
import type { Sql } from '../db/types.ts';

export interface PatientPrincipalRow {
  readonly id: string;
  /** `disabled` when an admin switched the patient's account off. */
  readonly status: string;
}

export async function ensurePatientPrincipal(sql: Sql, patientId: string): Promise<PatientPrincipalRow> {
  const [row] = await sql.query<PatientPrincipalRow>(
    `INSERT INTO users (id, kind, patient_id) VALUES ($1, 'patient', $2)
     ON CONFLICT (patient_id) DO UPDATE SET updated_at = now()
     RETURNING id, status`,
    [randomUUID(), patientId],
  );
  if (row === undefined) throw new Error('patient principal upsert returned no row');
  return row;
}
