/**
 * Records refused credentials (`access.denied` on resource type `session`) for HTTP requests and
 * WebSocket upgrades alike. A credential nobody holds a live session for — malformed, unknown,
 * expired — is recorded once a minute per credential, so a client retrying a dead token (or a
 * flood of garbage) cannot fill the chain or serialize every request on its lock; refusals tied
 * to a live session (CSRF) are always recorded.
 */
import { ActorType, AuditAction, type AuditActor, type AuditLog } from '../../core/audit/index.ts';
import { sha256Hex } from '../../core/crypto/tokens.ts';

const DEDUPE_MS = 60_000;
const DEDUPE_MAX = 10_000;

export interface RefusalAudit {
  /** `credential`: the refused token (deduplicated by its hash) or null for a live session's refusal. */
  record(actor: AuditActor, refusal: { reason: string; credential: string | null; sessionId: string | null; channel: string }): Promise<void>;
}

export function createRefusalAudit(audit: AuditLog): RefusalAudit {
  const recent = new Map<string, number>();
  return {
    async record(actor, { reason, credential, sessionId, channel }) {
      if (credential !== null) {
        // HTTP and WebSocket refusals of one credential are recorded separately.
        const key = `${reason}:${channel === 'websocket' ? 'ws' : 'http'}:${sha256Hex(credential)}`;
        const now = Date.now();
        const last = recent.get(key);
        if (last !== undefined && now - last < DEDUPE_MS) return;
        if (recent.size >= DEDUPE_MAX) recent.clear();
        recent.set(key, now);
      }
      await audit.append({
        ...actor,
        actorType: sessionId === null ? ActorType.anonymous : actor.actorType,
        actorId: sessionId === null ? null : (actor.actorId ?? null),
        action: AuditAction.accessDenied,
        resourceType: 'session',
        resourceId: sessionId,
        outcome: 'denied',
        details: { reason, channel },
      });
    },
  };
}
