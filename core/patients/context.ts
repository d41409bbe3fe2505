/**
 * Who is changing a patient record, and the shared bits of the patients module: the audit fields
 * every write carries, and input parsing that turns zod issues into a client-safe AppError.
 */
import type { z } from 'zod';
import { actorFields, type AuditActor, type AuditEntryInput } from '../audit/index.ts';
import { AppError, ErrorCode, type FieldError } from '../errors.ts';

/** The audit fields of the caller (core/audit's AuditActor). */
export type PatientActionContext = AuditActor;

export { isUuid } from '../ids.ts';

export function auditFields(ctx: PatientActionContext, patientId: string): Omit<AuditEntryInput, 'action' | 'outcome' | 'details'> {
  return {
    ...actorFields(ctx),
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
