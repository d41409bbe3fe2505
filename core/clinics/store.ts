/**
 * Clinics (sites) an appointment can take place at (core/db/migrations/0008_clinics.sql). A
 * clinic is a display name and an IANA time zone; it is archived, never deleted, so appointments
 * keep their history. The name is clinic-chosen, not PHI, and may appear in reminders: it is
 * checked to be short, single-line printable text, unique among live clinics (any letter case).
 * Writes are audited in the same transaction with ids only. Who may manage them is the access
 * policy's job.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AuditAction, AuditOutcome, actorFields, type AuditActor, type AuditLog } from '../audit/index.ts';
import type { Db, Sql } from '../db/types.ts';
import { AppError, ErrorCode, type FieldError } from '../errors.ts';
import { isUuid } from '../ids.ts';
import { isIanaTimeZone } from '../patients/schema.ts';

export interface Clinic {
  readonly id: string;
  readonly name: string;
  readonly timeZone: string;
  readonly createdAt: Date;
  /** Set once archived: no new appointment can name the clinic, and its name is free again. */
  readonly archivedAt: Date | null;
}

export interface ClinicInput {
  readonly name: string;
  readonly timeZone: string;
}

export const CLINIC_LIMITS = { maxName: 120, maxList: 1000 } as const;

// No control, format (bidi overrides, zero-width), private-use or line/paragraph separator
// characters: the name is shown to patients and must read as what it looks like. (Emptiness is
// min(1)'s to report.)
const PRINTABLE_RE = /^[^\p{C}\p{Zl}\p{Zp}]*$/u;

/** A clinic name as stored: NFC, trimmed, 1–120 characters, single-line printable. */
export const ClinicNameSchema = z
  .string()
  .normalize('NFC')
  .trim()
  .min(1, { message: 'Required' })
  .max(CLINIC_LIMITS.maxName, { message: `At most ${CLINIC_LIMITS.maxName} characters` })
  // A refinement, not .regex(): a `u`-flag pattern does not survive into the OpenAPI document.
  .refine((s) => PRINTABLE_RE.test(s), { message: 'Printable characters only (no control or formatting characters, one line)' });

export const ClinicTimeZoneSchema = z.string().max(64).refine(isIanaTimeZone, { message: 'Expected an IANA time zone such as America/New_York' });

/** The create body as routes receive it. */
export const ClinicInputSchema = z.strictObject({ name: ClinicNameSchema, timeZone: ClinicTimeZoneSchema });

export interface ClinicStore {
  /** Validates (name, IANA zone) and adds a clinic; audited `clinic.create`. 409 `conflict` when a live clinic has the name. */
  create(input: ClinicInput, ctx: AuditActor): Promise<Clinic>;
  /** By name. Live clinics only unless `includeArchived`; at most 1000. */
  list(opts?: { readonly includeArchived?: boolean }): Promise<Clinic[]>;
  /** null when unknown (or not a UUID); archived clinics are returned too. */
  get(id: string): Promise<Clinic | null>;
  /** Audited `clinic.archive`. Archiving an archived clinic returns it unchanged (no new record). 404 when unknown. */
  archive(id: string, ctx: AuditActor): Promise<Clinic>;
}

interface ClinicRow {
  id: string;
  name: string;
  time_zone: string;
  created_at: Date;
  archived_at: Date | null;
}

const COLUMNS = 'id, name, time_zone, created_at, archived_at';

const toClinic = (r: ClinicRow): Clinic => ({ id: r.id, name: r.name, timeZone: r.time_zone, createdAt: r.created_at, archivedAt: r.archived_at });

const nameTaken = (): AppError => new AppError(409, ErrorCode.conflict, 'A clinic with this name already exists');

/** PostgreSQL's unique_violation, as both engines report it. */
function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === '23505';
}

function parseInput(input: ClinicInput): ClinicInput {
  const parsed = ClinicInputSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const fields: FieldError[] = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || 'input', message: i.message }));
  throw new AppError(400, ErrorCode.validation, 'clinic input failed validation', { fields });
}

export function createClinicStore(deps: { readonly db: Db; readonly audit: AuditLog }): ClinicStore {
  const { db, audit } = deps;

  const get = async (sql: Sql, id: string): Promise<Clinic | null> => {
    if (!isUuid(id)) return null;
    const [row] = await sql.query<ClinicRow>(`SELECT ${COLUMNS} FROM clinics WHERE id = $1`, [id]);
    return row ? toClinic(row) : null;
  };

  return {
    async create(input, ctx) {
      const { name, timeZone } = parseInput(input);
      try {
        return await db.transaction(async (tx) => {
          // The unique index is the backstop for concurrent creates; this answers the common case.
          const taken = await tx.query('SELECT 1 FROM clinics WHERE lower(name) = lower($1) AND archived_at IS NULL', [name]);
          if (taken.length > 0) throw nameTaken();
          const id = randomUUID();
          const [row] = await tx.query<ClinicRow>(
            `INSERT INTO clinics (id, name, time_zone, created_by) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
            [id, name, timeZone, isUuid(ctx.actorId ?? '') ? ctx.actorId : null],
          );
          if (!row) throw new Error('clinic insert returned no row');
          await audit.append({ ...actorFields(ctx), action: AuditAction.clinicCreate, resourceType: 'clinic', resourceId: id, outcome: AuditOutcome.success }, tx);
          return toClinic(row);
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw nameTaken();
        throw err;
      }
    },

    async list(opts = {}) {
      const rows = await db.query<ClinicRow>(
        `SELECT ${COLUMNS} FROM clinics WHERE $1::boolean OR archived_at IS NULL ORDER BY lower(name), created_at, id LIMIT ${CLINIC_LIMITS.maxList}`,
        [opts.includeArchived === true],
      );
      return rows.map(toClinic);
    },

    get: (id) => get(db, id),

    async archive(id, ctx) {
      if (!isUuid(id)) throw new AppError(404, ErrorCode.notFound, 'clinic not found');
      return db.transaction(async (tx) => {
        const [row] = await tx.query<ClinicRow>(`UPDATE clinics SET archived_at = now() WHERE id = $1 AND archived_at IS NULL RETURNING ${COLUMNS}`, [id]);
        if (!row) {
          const current = await get(tx, id);
          if (current === null) throw new AppError(404, ErrorCode.notFound, 'clinic not found');
          return current;
        }
        await audit.append({ ...actorFields(ctx), action: AuditAction.clinicArchive, resourceType: 'clinic', resourceId: id, outcome: AuditOutcome.success }, tx);
        return toClinic(row);
      });
    },
  };
}
