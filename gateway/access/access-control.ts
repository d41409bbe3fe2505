/**
 * Binds the pure policy (policy.ts) to a request: loads the relationship facts it needs from the
 * database, records every denial in the audit chain, and marks the request when a break-glass
 * grant is what allowed it, so the records the route writes next carry the flag. Denials answer
 * one generic 403: the caller learns that access was refused, not why or what exists.
 */
import type { Context } from 'hono';
import { AuditAction, type AuditActor, type AuditLog } from '../../core/audit/index.ts';
import type { Db } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { isOnCareTeam } from '../../core/identity/care-team.ts';
import type { Principal } from '../../core/identity/principal.ts';
import type { AppEnv } from '../app-env.ts';
import { auditContext, requireAuth } from '../auth/request-auth.ts';
import { careTeamPair, decide, needsFacts, patientPeerPair, type Action, type Decision, type DenyReason, type Facts, type Resource } from './policy.ts';

export interface BreakGlassLookup {
  activeGrant(providerId: string, patientId: string): Promise<{ readonly id: string } | null>;
}

export interface AccessControl {
  /** Allows, or throws 403 (audited). A break-glass grant that allowed it is marked on the request. */
  authorize(c: Context<AppEnv>, action: Action, resource: Resource): Promise<void>;
  /**
   * The first of `actions` (most preferred first) the caller may perform on `resource`, loading
   * the relationship facts at most once; 403 (audited, naming the last action) when none is allowed.
   */
  authorizeFirst<A extends Action>(c: Context<AppEnv>, actions: readonly [A, ...A[]], resource: Resource): Promise<A>;
  /** Refuse (audited, 403) for a rule the route enforces itself, e.g. "providers list only their own". */
  deny(c: Context<AppEnv>, action: Action, resource: Resource, reason: DenyReason): Promise<never>;
  /**
   * The same decision outside an HTTP request (a WebSocket frame): `actor` is who the audit
   * records name. Resolves with the break-glass grant that allowed it (or null); 403, audited.
   */
  authorizePrincipal(principal: Principal, actor: AuditActor, action: Action, resource: Resource): Promise<{ readonly breakGlassId: string | null }>;
}

function patientOf(resource: Resource): string | null {
  if (resource.type === 'peer') return resource.peer.kind === 'patient' ? resource.peer.patientId : null;
  return resource.type === 'patient' || resource.type === 'appointment' ? resource.patientId : null;
}

function resourceIdOf(resource: Resource): string | null {
  switch (resource.type) {
    case 'system':
      return null;
    case 'user':
    case 'peer':
      return resource.userId;
    case 'patient':
      return resource.patientId;
    case 'appointment':
      return resource.appointmentId;
  }
}

export function createAccessControl(deps: { readonly db: Db; readonly audit: AuditLog; readonly breakGlass: BreakGlassLookup }): AccessControl {
  const facts = async (principal: Principal, resource: Resource): Promise<Facts> => {
    if (resource.type === 'peer') {
      // A patient messaging a provider: the same care-team row, seen from the patient's side.
      const fromPatient = patientPeerPair(principal, resource);
      if (fromPatient !== null) return { careTeam: await isOnCareTeam(deps.db, fromPatient.providerId, fromPatient.patientId), breakGlassId: null };
      if (careTeamPair(principal, resource.peer) === null) return { careTeam: false, breakGlassId: null };
    }
    const patientId = patientOf(resource);
    if (patientId === null || principal.kind !== 'staff') return { careTeam: false, breakGlassId: null };
    if (await isOnCareTeam(deps.db, principal.userId, patientId)) return { careTeam: true, breakGlassId: null };
    const grant = await deps.breakGlass.activeGrant(principal.userId, patientId);
    return { careTeam: false, breakGlassId: grant?.id ?? null };
  };

  const denyAs = async (actor: AuditActor, action: Action, resource: Resource, reason: DenyReason): Promise<never> => {
    await deps.audit.append({
      ...actor,
      action: AuditAction.accessDenied,
      resourceType: resource.type,
      resourceId: resourceIdOf(resource),
      patientId: patientOf(resource),
      outcome: 'denied',
      details: { action, reason },
    });
    throw new AppError(403, ErrorCode.forbidden, 'You do not have access to this resource');
  };
  const deny = (c: Context<AppEnv>, action: Action, resource: Resource, reason: DenyReason): Promise<never> => denyAs(auditContext(c), action, resource, reason);

  const authorizeFirst = async <A extends Action>(c: Context<AppEnv>, actions: readonly [A, ...A[]], resource: Resource): Promise<A> => {
    const auth = requireAuth(c);
    let known: Facts | undefined;
    let refused: { action: A; decision: Decision } | undefined;
    for (const action of actions) {
      const f = needsFacts(auth.principal, action, resource) ? (known ??= await facts(auth.principal, resource)) : undefined;
      const decision = decide(auth.principal, action, resource, f);
      if (decision.allow) {
        if (decision.breakGlassId !== null) auth.breakGlassId = decision.breakGlassId;
        return action;
      }
      refused = { action, decision };
    }
    const reason = refused !== undefined && !refused.decision.allow ? refused.decision.reason : 'role';
    return deny(c, refused?.action ?? actions[0], resource, reason);
  };

  return {
    deny,
    authorizeFirst,
    async authorizePrincipal(principal, actor, action, resource) {
      const f = needsFacts(principal, action, resource) ? await facts(principal, resource) : undefined;
      const decision = decide(principal, action, resource, f);
      if (decision.allow) return { breakGlassId: decision.breakGlassId };
      return denyAs(actor, action, resource, decision.reason);
    },
    async authorize(c, action, resource) {
      await authorizeFirst(c, [action], resource);
    },
  };
}
