/**
 * How one audit chain entry looks over the API: the same fields for the event list and the
 * search (which adds `prevHash`, so an exported slice can be matched against the chain).
 * Details hold ids only by construction of the audit vocabulary.
 */
import { z } from '@hono/zod-openapi';
import type { AuditRecord } from '../../core/audit/index.ts';

export const EventSchema = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    actorType: z.string(),
    actorId: z.string().nullable(),
    action: z.string(),
    resourceType: z.string().nullable(),
    resourceId: z.string().nullable(),
    patientId: z.string().nullable(),
    outcome: z.string(),
    requestId: z.string().nullable(),
    ip: z.string().nullable(),
    breakGlass: z.boolean(),
    details: z.record(z.string(), z.unknown()),
    hash: z.string(),
  })
  .openapi('AuditEvent');

export const SearchEventSchema = EventSchema.extend({ prevHash: z.string() }).openapi('AuditSearchEvent', {
  description: 'One chain entry; `prevHash` and `hash` let a reader match an exported slice against the chain.',
});

export function eventView(r: AuditRecord): z.infer<typeof EventSchema> {
  return {
    seq: r.seq,
    at: r.at,
    actorType: r.actor_type,
    actorId: r.actor_id,
    action: r.action,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    patientId: r.patient_id,
    outcome: r.outcome,
    requestId: r.request_id,
    ip: r.ip,
    breakGlass: r.break_glass,
    details: r.details,
    hash: r.hash,
  };
}

export const searchEventView = (r: AuditRecord): z.infer<typeof SearchEventSchema> => ({ ...eventView(r), prevHash: r.prev_hash });
