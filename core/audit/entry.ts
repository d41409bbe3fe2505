/**
 * What callers append (AuditEntryInput, camelCase) and what the chain stores, hashes and exports
 * (AuditRecord, snake_case = the column names). Input is validated with zod before any database
 * work: closed vocabularies, opaque bounded ids (no spaces or `@`, so a name or an email address
 * cannot pass for an id), a real IP address, and PHI-free bounded details.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { ActorType, AuditOutcome, isAuditAction, type AuditAction } from './actions.ts';
import { checkDetails, type AuditDetails } from './details-guard.ts';

export interface AuditEntryInput {
  readonly actorType: ActorType;
  /** User/device/patient id, or the process name for `system` (`cli`, `gateway`). Absent for `anonymous`. */
  readonly actorId?: string | null;
  readonly action: AuditAction;
  readonly resourceType?: string | null;
  readonly resourceId?: string | null;
  /** The patient the event is about (opaque id, never a name): what a breach assessment filters on. */
  readonly patientId?: string | null;
  readonly outcome: AuditOutcome;
  readonly requestId?: string | null;
  readonly ip?: string | null;
  readonly breakGlass?: boolean;
  readonly details?: AuditDetails;
}

/** The entry fields that a caller supplies, normalized: snake_case, absent = null. */
export interface AuditFields {
  readonly actor_type: string;
  readonly actor_id: string | null;
  readonly action: string;
  readonly resource_type: string | null;
  readonly resource_id: string | null;
  readonly patient_id: string | null;
  readonly outcome: string;
  readonly request_id: string | null;
  readonly ip: string | null;
  readonly break_glass: boolean;
  readonly details: AuditDetails;
}

/** One stored entry. Its hash is SHA-256 over the canonical JSON of every other field (see hash.ts). */
export interface AuditRecord extends AuditFields {
  readonly seq: number;
  /** ISO 8601 UTC with milliseconds, exactly as hashed. */
  readonly at: string;
  readonly prev_hash: string;
  readonly hash: string;
}

export class InvalidAuditEntryError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid audit entry: ${issues.join('; ')}`);
    this.name = 'InvalidAuditEntryError';
    this.issues = issues;
  }
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const id = z.string().regex(ID_RE, { message: 'expected an opaque id (letters, digits, . _ : -; at most 128)' });

const inputSchema = z
  .strictObject({
    actorType: z.enum(ActorType, { message: 'unknown actor type' }),
    actorId: id.nullish(),
    action: z.string().refine(isAuditAction, { message: 'not in the audit action vocabulary (core/audit/actions.ts)' }),
    resourceType: z
      .string()
      .regex(/^[a-z][a-z0-9_.]{0,63}$/, { message: 'expected a lowercase resource type' })
      .nullish(),
    resourceId: id.nullish(),
    patientId: id.nullish(),
    outcome: z.enum(AuditOutcome, { message: 'unknown outcome' }),
    requestId: id.nullish(),
    ip: z
      .string()
      .max(64)
      .refine((s) => isIP(s) !== 0, { message: 'expected an IPv4 or IPv6 address' })
      .nullish(),
    breakGlass: z.boolean().optional(),
    details: z.unknown().optional(),
  })
  .superRefine((v, ctx) => {
    const anonymous = v.actorType === ActorType.anonymous;
    if (anonymous && v.actorId != null) ctx.addIssue({ code: 'custom', path: ['actorId'], message: 'anonymous actors carry no id' });
    if (!anonymous && v.actorId == null) ctx.addIssue({ code: 'custom', path: ['actorId'], message: `required for actor type ${v.actorType}` });
    if (v.resourceId != null && v.resourceType == null) ctx.addIssue({ code: 'custom', path: ['resourceType'], message: 'required with resourceId' });
    for (const p of v.details === undefined ? [] : checkDetails(v.details)) ctx.addIssue({ code: 'custom', path: [], message: p });
  });

/** Validate and normalize an entry, or throw InvalidAuditEntryError naming each problem (never a value). */
export function parseAuditEntry(input: AuditEntryInput): AuditFields {
  const r = inputSchema.safeParse(input);
  if (!r.success) {
    throw new InvalidAuditEntryError(
      r.error.issues.map((i) => (i.path.length === 0 ? i.message : `${i.path.map(String).join('.')}: ${i.message}`)),
    );
  }
  const v = r.data;
  return {
    actor_type: v.actorType,
    actor_id: v.actorId ?? null,
    action: v.action,
    resource_type: v.resourceType ?? null,
    resource_id: v.resourceId ?? null,
    patient_id: v.patientId ?? null,
    outcome: v.outcome,
    request_id: v.requestId ?? null,
    ip: v.ip ?? null,
    break_glass: v.breakGlass ?? false,
    // checkDetails has proven it is a plain JSON object.
    details: (v.details ?? {}) as AuditDetails,
  };
}
