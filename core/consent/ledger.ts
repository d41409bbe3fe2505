/**
 * The consent ledger (core/db/migrations/0005_consent.sql): versioned, append-only consent per
 * patient × channel × purpose. A change is a new row, version = previous + 1; the latest version
 * is the current state. Every change is audited (`consent.record` / `consent.revoke`) in the same
 * transaction with ids and vocabulary only — never a contact detail or the evidence itself.
 *
 * Concurrency: writers take a transaction-scoped advisory lock per (patient, channel, purpose),
 * in a fixed order, before reading the latest version, so concurrent changes land one after the
 * other with distinct versions (the UNIQUE constraint is the backstop). The audit records are
 * appended after every row is written: the audit chain lock must be the last lock a transaction
 * takes, or two writers could wait on each other.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AuditAction, AuditOutcome, actorFields, type AuditActor, type AuditEntryInput, type AuditLog } from '../audit/index.ts';
import type { Db, Sql } from '../db/types.ts';
import { AppError, ErrorCode, type FieldError } from '../errors.ts';
import { isUuid } from '../ids.ts';
import {
  ConsentState,
  channelSchema,
  evidenceRefSchema,
  methodSchema,
  purposeSchema,
  stateSchema,
  type ConsentChannel,
  type ConsentMethod,
  type ConsentPurpose,
} from './vocab.ts';

export const ConsentInputSchema = z.strictObject({
  patientId: z.uuid(),
  channel: channelSchema,
  purpose: purposeSchema,
  state: stateSchema,
  method: methodSchema,
  evidenceRef: evidenceRefSchema.nullish(),
});
export type ConsentInput = z.input<typeof ConsentInputSchema>;

/**
 * When a change is a repeat rather than a new fact:
 * - `evidence`: a row for the same triple with the same method and evidence already exists
 *   (a redelivered webhook with the same MessageSid);
 * - `state`: the current state already is the requested one (a second click on an unsubscribe link).
 * A repeat adds no version and no audit record; the existing row is returned with `created: false`.
 */
export type Dedupe = 'none' | 'evidence' | 'state';

export interface RecordOptions {
  readonly dedupe?: Dedupe;
  /** Join the caller's transaction (READ COMMITTED). The audit chain lock is then held until it commits. */
  readonly tx?: Sql;
}

export interface ConsentRecord {
  readonly id: string;
  readonly patientId: string;
  readonly channel: ConsentChannel;
  readonly purpose: ConsentPurpose;
  readonly version: number;
  readonly state: ConsentState;
  readonly method: ConsentMethod;
  readonly evidenceRef: string | null;
  readonly recordedByType: 'user' | 'patient' | 'system';
  readonly recordedBy: string;
  readonly recordedAt: Date;
}

export interface CurrentConsent {
  readonly recordId: string;
  readonly version: number;
  readonly state: ConsentState;
}

export interface RecordResult {
  readonly record: ConsentRecord;
  /** False when the change was a repeat (see Dedupe) and nothing was written. */
  readonly created: boolean;
}

export interface ConsentLedger {
  /** Record one change; 400 on invalid input, 404 unknown patient, 409 erased patient. */
  record(input: ConsentInput, ctx: AuditActor, opts?: RecordOptions): Promise<RecordResult>;
  /** Several changes in one transaction (all or none), e.g. STOP revoking every SMS purpose. Results in input order. */
  recordMany(inputs: readonly ConsentInput[], ctx: AuditActor, opts?: RecordOptions): Promise<RecordResult[]>;
  /** The latest record of every channel × purpose the patient has any record for. */
  current(patientId: string): Promise<ConsentRecord[]>;
  /** The current state for one channel and purpose, or null when nothing was ever recorded (= no consent). */
  currentFor(patientId: string, channel: ConsentChannel, purpose: ConsentPurpose): Promise<CurrentConsent | null>;
  /** `currentFor` for many patients at once (one query): answers in `patientIds` order. */
  currentForMany(patientIds: readonly string[], channel: ConsentChannel, purpose: ConsentPurpose): Promise<(CurrentConsent | null)[]>;
  /** Every record, oldest first per channel × purpose. */
  history(patientId: string): Promise<ConsentRecord[]>;
}

export const MAX_CHANGES_PER_CALL = 100;

interface ConsentRow {
  id: string;
  patient_id: string;
  channel: ConsentChannel;
  purpose: ConsentPurpose;
  version: number;
  state: ConsentState;
  method: ConsentMethod;
  evidence_ref: string | null;
  recorded_by_type: 'user' | 'patient' | 'system';
  recorded_by: string;
  recorded_at: Date;
}

const COLUMNS = 'id, patient_id, channel, purpose, version, state, method, evidence_ref, recorded_by_type, recorded_by, recorded_at';

function toRecord(r: ConsentRow): ConsentRecord {
  return {
    id: r.id,
    patientId: r.patient_id,
    channel: r.channel,
    purpose: r.purpose,
    version: r.version,
    state: r.state,
    method: r.method,
    evidenceRef: r.evidence_ref,
    recordedByType: r.recorded_by_type,
    recordedBy: r.recorded_by,
    recordedAt: r.recorded_at,
  };
}

function parseInputs(inputs: readonly ConsentInput[]): z.output<typeof ConsentInputSchema>[] {
  if (inputs.length > MAX_CHANGES_PER_CALL) throw new AppError(400, ErrorCode.badRequest, `at most ${MAX_CHANGES_PER_CALL} consent changes per call`);
  const fields: FieldError[] = [];
  const out = inputs.map((input, i) => {
    const r = ConsentInputSchema.safeParse(input);
    if (r.success) return r.data;
    for (const issue of r.error.issues.slice(0, 10)) fields.push({ path: [i, ...issue.path].map(String).join('.'), message: issue.message });
    return null;
  });
  const valid = out.filter((x) => x !== null);
  if (fields.length > 0 || valid.length !== out.length) throw new AppError(400, ErrorCode.validation, 'consent change failed validation', { fields });
  return valid;
}

/** Who the ledger says recorded a change; only users, patients and named system components may. */
function recorder(ctx: AuditActor): { type: 'user' | 'patient' | 'system'; id: string } {
  if (ctx.actorType === 'user' || ctx.actorType === 'patient') {
    if (ctx.actorId == null) throw new Error(`a ${ctx.actorType} recording consent must carry its id`);
    return { type: ctx.actorType, id: ctx.actorId };
  }
  if (ctx.actorType === 'system') return { type: 'system', id: ctx.actorId ?? 'system' };
  throw new Error(`actor type ${ctx.actorType} may not record consent`);
}

const tripleKey = (i: { patientId: string; channel: string; purpose: string }): string => `consent:${i.patientId.toLowerCase()}:${i.channel}:${i.purpose}`;

export function createConsentLedger(deps: { db: Db; audit: AuditLog }): ConsentLedger {
  const { db, audit } = deps;

  async function recordIn(tx: Sql, inputs: readonly z.output<typeof ConsentInputSchema>[], ctx: AuditActor, dedupe: Dedupe): Promise<RecordResult[]> {
    const by = recorder(ctx);
    const patientIds = [...new Set(inputs.map((i) => i.patientId.toLowerCase()))];
    const patients = await tx.query<{ id: string; erased_at: Date | null }>('SELECT id, erased_at FROM patients WHERE id = ANY($1::uuid[])', [patientIds]);
    if (patients.length !== patientIds.length) throw new AppError(404, ErrorCode.notFound, 'patient not found');
    if (patients.some((p) => p.erased_at !== null)) throw new AppError(409, ErrorCode.conflict, 'patient record was erased');

    // One lock per triple, in sorted order: two calls touching the same triples cannot deadlock.
    for (const key of [...new Set(inputs.map(tripleKey))].sort()) {
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
    }

    const results: RecordResult[] = [];
    const entries: AuditEntryInput[] = [];
    for (const input of inputs) {
      const evidenceRef = input.evidenceRef ?? null;
      // A separate statement after the lock: READ COMMITTED takes a fresh snapshot and sees the previous holder's row.
      const [latest] = await tx.query<ConsentRow>(
        `SELECT ${COLUMNS} FROM consent_records WHERE patient_id = $1 AND channel = $2 AND purpose = $3 ORDER BY version DESC LIMIT 1`,
        [input.patientId, input.channel, input.purpose],
      );
      if (latest !== undefined && dedupe === 'state' && latest.state === input.state) {
        results.push({ record: toRecord(latest), created: false });
        continue;
      }
      if (dedupe === 'evidence' && evidenceRef !== null) {
        const [seen] = await tx.query<ConsentRow>(
          `SELECT ${COLUMNS} FROM consent_records WHERE evidence_ref = $4 AND patient_id = $1 AND channel = $2 AND purpose = $3 AND method = $5 ORDER BY version DESC LIMIT 1`,
          [input.patientId, input.channel, input.purpose, evidenceRef, input.method],
        );
        if (seen !== undefined) {
          results.push({ record: toRecord(seen), created: false });
          continue;
        }
      }
      const [row] = await tx.query<ConsentRow>(
        `INSERT INTO consent_records (id, patient_id, channel, purpose, version, state, method, evidence_ref, recorded_by_type, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
        [randomUUID(), input.patientId, input.channel, input.purpose, (latest?.version ?? 0) + 1, input.state, input.method, evidenceRef, by.type, by.id],
      );
      if (row === undefined) throw new Error('consent insert returned no row');
      const record = toRecord(row);
      results.push({ record, created: true });
      entries.push({
        ...actorFields(ctx),
        action: record.state === ConsentState.granted ? AuditAction.consentRecord : AuditAction.consentRevoke,
        outcome: AuditOutcome.success,
        resourceType: 'consent',
        resourceId: record.id,
        patientId: record.patientId,
        details: { recordId: record.id, version: record.version, channel: record.channel, purpose: record.purpose, method: record.method },
      });
    }
    await audit.appendMany(entries, tx);
    return results;
  }

  // async: invalid input must reject the promise, not throw before the caller has one.
  async function recordMany(inputs: readonly ConsentInput[], ctx: AuditActor, opts: RecordOptions = {}): Promise<RecordResult[]> {
    const parsed = parseInputs(inputs);
    if (parsed.length === 0) return [];
    const dedupe = opts.dedupe ?? 'none';
    return opts.tx ? recordIn(opts.tx, parsed, ctx, dedupe) : db.transaction((tx) => recordIn(tx, parsed, ctx, dedupe));
  }

  async function current(patientId: string): Promise<ConsentRecord[]> {
    if (!isUuid(patientId)) return [];
    const rows = await db.query<ConsentRow>(
      `SELECT DISTINCT ON (channel, purpose) ${COLUMNS} FROM consent_records WHERE patient_id = $1 ORDER BY channel, purpose, version DESC`,
      [patientId],
    );
    return rows.map(toRecord);
  }

  return {
    recordMany,

    async record(input, ctx, opts) {
      const [result] = await recordMany([input], ctx, opts);
      if (result === undefined) throw new Error('consent record produced no result');
      return result;
    },

    current,

    async currentFor(patientId, channel, purpose) {
      if (!isUuid(patientId)) return null;
      const [row] = await db.query<{ id: string; version: number; state: ConsentState }>(
        'SELECT id, version, state FROM consent_records WHERE patient_id = $1 AND channel = $2 AND purpose = $3 ORDER BY version DESC LIMIT 1',
        [patientId, channel, purpose],
      );
      return row === undefined ? null : { recordId: row.id, version: row.version, state: row.state };
    },

    async currentForMany(patientIds, channel, purpose) {
      const wanted = [...new Set(patientIds.filter(isUuid))];
      const rows =
        wanted.length === 0
          ? []
          : await db.query<{ patient_id: string; id: string; version: number; state: ConsentState }>(
              `SELECT DISTINCT ON (patient_id) patient_id, id, version, state FROM consent_records
                WHERE patient_id = ANY($1::uuid[]) AND channel = $2 AND purpose = $3 ORDER BY patient_id, version DESC`,
              [wanted, channel, purpose],
            );
      const byPatient = new Map(rows.map((r) => [r.patient_id, { recordId: r.id, version: r.version, state: r.state }]));
      return patientIds.map((id) => byPatient.get(id) ?? null);
    },

    async history(patientId) {
      if (!isUuid(patientId)) return [];
      const rows = await db.query<ConsentRow>(`SELECT ${COLUMNS} FROM consent_records WHERE patient_id = $1 ORDER BY channel, purpose, version`, [patientId]);
      return rows.map(toRecord);
    },
  };
}
