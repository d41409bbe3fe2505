/**
 * The caller's audit identity for the appointment, visit-link, enrollment and break-glass
 * services: who acts, from which request and address, and whether a break-glass grant is what
 * allowed it. Structurally the same as the gateway's `auditContext(c)`, so routes pass theirs as is.
 */
import type { ActorType, AuditEntryInput } from '../audit/index.ts';

export interface ActionContext {
  readonly actorType: ActorType;
  readonly actorId?: string | null;
  readonly requestId?: string | null;
  readonly ip?: string | null;
  readonly breakGlass?: boolean;
}

/** The actor/request part of an audit entry; `breakGlass` is forced on when `flagged` is true. */
export function actorFields(ctx: ActionContext, flagged = false): Pick<AuditEntryInput, 'actorType' | 'actorId' | 'requestId' | 'ip' | 'breakGlass'> {
  return {
    actorType: ctx.actorType,
    actorId: ctx.actorId ?? null,
    requestId: ctx.requestId ?? null,
    ip: ctx.ip ?? null,
    breakGlass: flagged || (ctx.breakGlass ?? false),
  };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids reach uuid columns: a malformed one would otherwise surface as an engine-specific SQL error (500). */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}
