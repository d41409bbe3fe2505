/**
 * Which keys a restored database needs that are NOT in the backup: the master key(s) wrapping the
 * patient data keys, and the audit signing key(s) of the checkpoints. Ids only (they are public
 * fingerprints); compared by the CLI with what the restoring deployment is configured with.
 */
import type { Sql } from '../db/types.ts';

export interface KeysInUse {
  readonly masterKeyIds: readonly string[];
  readonly checkpointKeyIds: readonly string[];
}

export async function keysInUse(sql: Sql): Promise<KeysInUse> {
  const master = await sql.query<{ id: string }>('SELECT DISTINCT master_key_id AS id FROM patient_keys ORDER BY 1');
  const signing = await sql.query<{ id: string }>('SELECT DISTINCT key_id AS id FROM audit_checkpoint ORDER BY 1');
  return { masterKeyIds: master.map((r) => r.id), checkpointKeyIds: signing.map((r) => r.id) };
}
