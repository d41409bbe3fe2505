/**
 * Who is acting, as every service that writes audit records receives it: the actor, the request
 * and client address it came from, and whether a break-glass grant is what allowed it. The
 * gateway's `auditContext(c)` has exactly this shape, so routes pass theirs as is.
 */
import type { AuditEntryInput } from './entry.ts';

export type AuditActor = Pick<AuditEntryInput, 'actorType' | 'actorId' | 'requestId' | 'ip' | 'breakGlass'>;

/** The actor part of an audit entry, absent fields as null; `breakGlass` forced on when `flagged`. */
export function actorFields(ctx: AuditActor, flagged = false): Required<AuditActor> {
  return {
    actorType: ctx.actorType,
    actorId: ctx.actorId ?? null,
    requestId: ctx.requestId ?? null,
    ip: ctx.ip ?? null,
    breakGlass: flagged || (ctx.breakGlass ?? false),
  };
}
