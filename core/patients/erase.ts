/**
 * Crypto-shredding a patient (right to erasure, end of retention): in one transaction the
 * patient's data key row is deleted, the record is marked erased, and `patient.crypto_shred` is
 * audited. Every ciphertext under that key — demographics, break-glass reasons, and the copies in
 * every backup — is unreadable from then on. Needs no master key, so the CLI can run it anywhere.
 *
 * Erasing an already-erased patient is a no-op (no second audit record) reported as
 * `alreadyErased: true`; an unknown id is AppError 404.
 */
import { AuditAction, AuditOutcome, type AuditLog } from '../audit/index.ts';
import type { Db, Sql } from '../db/types.ts';
import { auditFields, isUuid, notFound, type PatientActionContext } from './context.ts';

export interface EraseResult {
  readonly id: string;
  readonly erasedAt: Date;
  /** True when the patient had been erased before this call (nothing was done). */
  readonly alreadyErased: boolean;
}

export async function erasePatient(
  deps: { db: Db; audit: AuditLog; contacts?: { removePatient(patientId: string, tx?: Sql): Promise<void> } },
  id: string,
  ctx: PatientActionContext,
): Promise<EraseResult> {
  if (!isUuid(id)) throw notFound();
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.query<{ erased_at: Date | null }>('SELECT erased_at FROM patients WHERE id = $1 FOR UPDATE', [id]);
    if (!row) throw notFound();
    if (row.erased_at !== null) return { id, erasedAt: row.erased_at, alreadyErased: true };
    const deleted = await tx.query('DELETE FROM patient_keys WHERE patient_id = $1 RETURNING patient_id', [id]);
    const [marked] = await tx.query<{ erased_at: Date }>('UPDATE patients SET erased_at = now(), updated_at = now() WHERE id = $1 RETURNING erased_at', [id]);
    if (!marked) throw new Error('patient row vanished while locked');
    // The shredded patient's contacts must not match an inbound message any more.
    await deps.contacts?.removePatient(id, tx);
    await deps.audit.append(
      { ...auditFields(ctx, id), action: AuditAction.patientCryptoShred, outcome: AuditOutcome.success, details: { keyDestroyed: deleted.length === 1 } },
      tx,
    );
    return { id, erasedAt: marked.erased_at, alreadyErased: false };
  });
}
