/**
 * Master key rotation: in ONE transaction, every patient data key (patient_keys) and every TOTP
 * secret (users.totp_secret) is opened with the loaded keyring and sealed again under `newKey`,
 * and the rotation is audited with counts. Either everything is under the new key or nothing
 * changed. The data keys themselves do not change, so no PHI ciphertext is touched.
 *
 * Rows are read into memory: fine for the tens of thousands of patients one gateway serves.
 * Processes started before the rotation hold only the old key: restart them afterwards.
 */
import { ActorType, AuditAction, AuditOutcome, createAuditLog } from '../audit/index.ts';
import type { Db } from '../db/types.ts';
import { createMasterKeyring, type MasterKey, type MasterKeyring } from './keyring.ts';
import { createMasterSealer, totpSecretAad } from './master-sealer.ts';
import { patientKeyAad } from './patient-cipher.ts';

export interface RotateMasterKeyResult {
  readonly keyId: string;
  readonly previousKeyId: string;
  readonly patientKeys: number;
  readonly totpSecrets: number;
}

export interface RotateMasterKeyOptions {
  readonly db: Db;
  /** Must hold every key the rows are currently sealed under. */
  readonly keyring: MasterKeyring;
  readonly newKey: MasterKey;
  /** Who rotates; default the CLI. */
  readonly actor?: { readonly actorType: ActorType; readonly actorId: string };
}

export async function rotateMasterKey(opts: RotateMasterKeyOptions): Promise<RotateMasterKeyResult> {
  const { db, keyring, newKey } = opts;
  const from = createMasterSealer(keyring);
  const to = createMasterSealer(createMasterKeyring(newKey));
  const actor = opts.actor ?? { actorType: ActorType.system, actorId: 'cli' };
  return db.transaction(async (tx) => {
    const keys = await tx.query<{ patient_id: string; wrapped_key: Buffer }>(
      'SELECT patient_id, wrapped_key FROM patient_keys ORDER BY patient_id FOR UPDATE',
    );
    for (const row of keys) {
      const aad = patientKeyAad(row.patient_id);
      const raw = from.open(row.wrapped_key, aad);
      try {
        await tx.query('UPDATE patient_keys SET wrapped_key = $2, master_key_id = $3, rotated_at = now() WHERE patient_id = $1', [
          row.patient_id,
          to.seal(raw, aad),
          to.keyId,
        ]);
      } finally {
        raw.fill(0);
      }
    }
    const users = await tx.query<{ id: string; totp_secret: Buffer }>(
      'SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL ORDER BY id FOR UPDATE',
    );
    for (const row of users) {
      const aad = totpSecretAad(row.id);
      const raw = from.open(row.totp_secret, aad);
      try {
        await tx.query('UPDATE users SET totp_secret = $2 WHERE id = $1', [row.id, to.seal(raw, aad)]);
      } finally {
        raw.fill(0);
      }
    }
    await createAuditLog(db).append(
      {
        actorType: actor.actorType,
        actorId: actor.actorId,
        action: AuditAction.masterKeyRotate,
        outcome: AuditOutcome.success,
        // Key ids are hashes, safe to record; "secret"-named keys are refused by the details guard.
        details: { keyId: to.keyId, previousKeyId: from.keyId, patientKeys: keys.length, totpKeys: users.length },
      },
      tx,
    );
    return { keyId: to.keyId, previousKeyId: from.keyId, patientKeys: keys.length, totpSecrets: users.length };
  });
}
