/**
 * Care teams: which providers treat which patients. The access policy reads membership; admins
 * change it, and a provider who registers a patient joins that patient's team.
 */
import type { Sql } from '../db/types.ts';

/** True when the pair was added now, false when it already existed. */
export async function addToCareTeam(sql: Sql, providerId: string, patientId: string, addedBy: string | null): Promise<boolean> {
  const rows = await sql.query('INSERT INTO care_team (provider_id, patient_id, added_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1', [providerId, patientId, addedBy]);
  return rows.length > 0;
}

/** True when the pair existed and was removed. */
export async function removeFromCareTeam(sql: Sql, providerId: string, patientId: string): Promise<boolean> {
  const rows = await sql.query('DELETE FROM care_team WHERE provider_id = $1 AND patient_id = $2 RETURNING 1', [providerId, patientId]);
  return rows.length > 0;
}

export async function isOnCareTeam(sql: Sql, providerId: string, patientId: string): Promise<boolean> {
  const rows = await sql.query('SELECT 1 FROM care_team WHERE provider_id = $1 AND patient_id = $2', [providerId, patientId]);
  return rows.length > 0;
}
