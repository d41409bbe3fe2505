/**
 * The patients store. Every PHI field is encrypted under the patient's own data key before it
 * reaches SQL; only time_zone and timestamps are plain. Writes are audited in the same
 * transaction with the patient id and field NAMES only. Reads are not audited here: the caller
 * records `patient.view` with its request context (who, why, break-glass).
 */
import { randomUUID } from 'node:crypto';
import { AuditAction, AuditOutcome, type AuditLog } from '../audit/index.ts';
import type { PatientFieldCipher } from '../crypto/patient-cipher.ts';
import type { Db, Sql } from '../db/types.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { auditFields, isUuid, notFound, parseOrThrow, type PatientActionContext } from './context.ts';
import { erasePatient, type EraseResult } from './erase.ts';
import { PHI_COLUMNS, PHI_FIELDS, PatientInputSchema, PatientPatchSchema, type PatientInput, type PatientPatch, type PhiField } from './schema.ts';

export interface Patient {
  readonly id: string;
  readonly erased: false;
  readonly givenName: string;
  readonly familyName: string;
  readonly birthDate: string | null;
  readonly phone: string | null;
  readonly email: string | null;
  readonly mrn: string | null;
  readonly timeZone: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A crypto-shredded patient: only the id and when it happened remain knowable. Tell apart with `record.erased`. */
export interface ErasedPatient {
  readonly id: string;
  readonly erased: true;
  readonly erasedAt: Date;
}

export type PatientRecord = Patient | ErasedPatient;

export type UpdatableField = PhiField | 'timeZone';

export interface PatientStore {
  /** Validate, encrypt and insert; audited `patient.create`. Joins `tx` when given (audit is appended last in it). */
  create(input: PatientInput, ctx: PatientActionContext, tx?: Sql): Promise<{ id: string }>;
  /** Decrypted record, `{ id, erased: true }` once shredded, null when unknown (or not a UUID). */
  get(id: string): Promise<PatientRecord | null>;
  /** Records for the known ids, in the order asked (unknown ids and duplicates skipped). At most 500 ids. */
  getMany(ids: readonly string[]): Promise<PatientRecord[]>;
  /** Same as getMany. */
  list(ids: readonly string[]): Promise<PatientRecord[]>;
  /** Audited `patient.update` with the names of the supplied fields. 404 unknown, 409 erased. */
  update(id: string, patch: PatientPatch, ctx: PatientActionContext): Promise<{ id: string; fields: UpdatableField[] }>;
  /** Crypto-shredding; see erase.ts (second call is a no-op with alreadyErased: true). */
  erase(id: string, ctx: PatientActionContext): Promise<EraseResult>;
}

export const MAX_LIST_IDS = 500;

interface PatientRow {
  id: string;
  given_name: Buffer | null;
  family_name: Buffer | null;
  birth_date: Buffer | null;
  phone: Buffer | null;
  email: Buffer | null;
  mrn: Buffer | null;
  time_zone: string;
  created_at: Date;
  updated_at: Date;
  erased_at: Date | null;
}

const SELECT_COLUMNS = 'id, given_name, family_name, birth_date, phone, email, mrn, time_zone, created_at, updated_at, erased_at';

/**
 * Keeps the keyed lookup of phone numbers and emails (core/consent/contact-index.ts) in step with
 * the record, in the same transaction: an inbound SMS finds its patient without decrypting anyone.
 */
export interface ContactIndexer {
  indexContact(patientId: string, kind: 'phone' | 'email', value: string | null, tx?: Sql): Promise<void>;
  removePatient(patientId: string, tx?: Sql): Promise<void>;
}

export function createPatientStore(deps: { db: Db; cipher: PatientFieldCipher; audit: AuditLog; contacts?: ContactIndexer }): PatientStore {
  const { db, cipher, audit, contacts } = deps;

  async function toRecord(row: PatientRow): Promise<PatientRecord> {
    if (row.erased_at !== null) return { id: row.id, erased: true, erasedAt: row.erased_at };
    const f = await cipher.decryptFields(row.id, {
      given_name: row.given_name,
      family_name: row.family_name,
      birth_date: row.birth_date,
      phone: row.phone,
      email: row.email,
      mrn: row.mrn,
    });
    if (f === null) {
      // Erased between our two reads: report what is now true.
      const [again] = await db.query<{ erased_at: Date | null }>('SELECT erased_at FROM patients WHERE id = $1', [row.id]);
      if (again?.erased_at) return { id: row.id, erased: true, erasedAt: again.erased_at };
      throw new Error('patient record has no data key but is not marked erased');
    }
    if (f.given_name === null || f.family_name === null) throw new Error('patient record is missing a required name field');
    return {
      id: row.id,
      erased: false,
      givenName: f.given_name,
      familyName: f.family_name,
      birthDate: f.birth_date,
      phone: f.phone,
      email: f.email,
      mrn: f.mrn,
      timeZone: row.time_zone,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  async function createIn(tx: Sql, input: PatientInput, ctx: PatientActionContext): Promise<{ id: string }> {
    const v = parseOrThrow(PatientInputSchema, input);
    const id = randomUUID();
    const createdBy = ctx.actorId != null && isUuid(ctx.actorId) ? ctx.actorId : null;
    // The row comes first: patient_keys references it, and encrypt() creates the key on first use.
    await tx.query('INSERT INTO patients (id, time_zone, created_by) VALUES ($1, $2, $3)', [id, v.timeZone ?? 'UTC', createdBy]);
    const cts: (Buffer | null)[] = [];
    for (const field of PHI_FIELDS) {
      const value = v[field];
      cts.push(value === undefined ? null : await cipher.encrypt(id, PHI_COLUMNS[field], value, tx));
    }
    await tx.query(
      `UPDATE patients SET ${PHI_FIELDS.map((f, i) => `${PHI_COLUMNS[f]} = $${i + 2}`).join(', ')} WHERE id = $1`,
      [id, ...cts],
    );
    await contacts?.indexContact(id, 'phone', v.phone ?? null, tx);
    await contacts?.indexContact(id, 'email', v.email ?? null, tx);
    await audit.append({ ...auditFields(ctx, id), action: AuditAction.patientCreate, outcome: AuditOutcome.success }, tx);
    return { id };
  }

  async function getMany(ids: readonly string[]): Promise<PatientRecord[]> {
    if (ids.length > MAX_LIST_IDS) throw new AppError(400, ErrorCode.badRequest, `at most ${MAX_LIST_IDS} patient ids per request`);
    const wanted = [...new Set(ids.filter(isUuid).map((s) => s.toLowerCase()))];
    if (wanted.length === 0) return [];
    const rows = await db.query<PatientRow>(`SELECT ${SELECT_COLUMNS} FROM patients WHERE id = ANY($1::uuid[])`, [wanted]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const out: PatientRecord[] = [];
    for (const id of wanted) {
      const row = byId.get(id);
      if (row) out.push(await toRecord(row));
    }
    return out;
  }

  return {
    getMany,
    list: getMany,

    create(input, ctx, tx) {
      return tx ? createIn(tx, input, ctx) : db.transaction((t) => createIn(t, input, ctx));
    },

    async get(id) {
      if (!isUuid(id)) return null;
      const [row] = await db.query<PatientRow>(`SELECT ${SELECT_COLUMNS} FROM patients WHERE id = $1`, [id]);
      return row ? toRecord(row) : null;
    },


    async update(id, patch, ctx) {
      if (!isUuid(id)) throw notFound();
      const v = parseOrThrow(PatientPatchSchema, patch);
      return db.transaction(async (tx) => {
        const [row] = await tx.query<{ erased_at: Date | null }>('SELECT erased_at FROM patients WHERE id = $1 FOR UPDATE', [id]);
        if (!row) throw notFound();
        if (row.erased_at !== null) throw new AppError(409, ErrorCode.conflict, 'patient record was erased');
        const sets: string[] = [];
        const params: unknown[] = [id];
        const fields: UpdatableField[] = [];
        for (const field of PHI_FIELDS) {
          const value = v[field];
          if (value === undefined) continue;
          params.push(value === null ? null : await cipher.encrypt(id, PHI_COLUMNS[field], value, tx));
          sets.push(`${PHI_COLUMNS[field]} = $${params.length}`);
          fields.push(field);
        }
        if (v.timeZone !== undefined) {
          params.push(v.timeZone);
          sets.push(`time_zone = $${params.length}`);
          fields.push('timeZone');
        }
        await tx.query(`UPDATE patients SET ${sets.join(', ')}, updated_at = now() WHERE id = $1`, params);
        if (v.phone !== undefined) await contacts?.indexContact(id, 'phone', v.phone, tx);
        if (v.email !== undefined) await contacts?.indexContact(id, 'email', v.email, tx);
        await audit.append({ ...auditFields(ctx, id), action: AuditAction.patientUpdate, outcome: AuditOutcome.success, details: { fields } }, tx);
        return { id, fields };
      });
    },

    erase(id, ctx) {
      return erasePatient({ db, audit, ...(contacts === undefined ? {} : { contacts }) }, id, ctx);
    },
  };
}
