/**
 * Who is changing a patient record, and the shared bits of the patients module: the audit fields
 * every write carries, and input parsing that turns zod issues into a client-safe AppError.
 */
import type { z } from 'zod';
import type { ActorType, AuditEntryInput } from '../audit/index.ts';
import { AppError, ErrorCode, type FieldError } from '../errors.ts';

/** The audit fields of the caller (AuditEntryInput's names): `{ actorType: 'system', actorId: 'cli' }`, a user and request, ... */
export interface PatientActionContext {
  readonly actorType: ActorType;
  readonly actorId?: string | null;
  readonly requestId?: string | null;
  readonly ip?: string | null;
  /** True when a break-glass grant is what allowed the request. */
  readonly breakGlass?: boolean;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

export function auditFields(ctx: PatientActionContext, patientId: string): Omit<AuditEntryInput, 'action' | 'outcome' | 'details'> {
  return {
    actorType: ctx.actorType,
    actorId: ctx.actorId ?? null,
    requestId: ctx.requestId ?? null,
    ip: ctx.ip ?? null,
    breakGlass: ctx.breakGlass ?? false,
    resourceType: 'patient',
    resourceId: patientId,
    patientId,
  };
}

export function notFound(): AppError {
  return new AppError(404, ErrorCode.notFound, 'patient not found');
}

/** Parse `value` with `schema` or throw AppError 400 listing each offending field (never its value). */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const fields: FieldError[] = [];
  for (const issue of r.error.issues.slice(0, 50)) {
    if (issue.code === 'unrecognized_keys') for (const k of issue.keys) fields.push({ path: [...issue.path, k].map(String).join('.'), message: 'Unknown field' });
    else fields.push({ path: issue.path.map(String).join('.'), message: issue.message });
  }
  throw new AppError(400, ErrorCode.validation, 'patient input failed validation', { fields });
}
