/**
 * The audit log for auditors and privacy officers (HIPAA 164.312(b)): search a time window by
 * actor or patient (the breach-assessment questions), and the chain's integrity status. Reading
 * the audit log is itself audited.
 */
import type { KeyObject } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { AuditAction, exportEntries, verifyChain, type AuditLog } from '../../core/audit/index.ts';
import type { Db } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import { auditContext } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { errorResponse, guardedErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import { EventSchema, eventView } from './event-view.ts';

export interface AuditRouteDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
  readonly checkpointKeys: readonly KeyObject[];
}

const guarded = { security: [{ session: [] }], tags: ['audit'] };
const { 404: _notFound, ...errors } = guardedErrors;
const MAX_WINDOW_MS = 366 * 86_400_000;

const search = createRoute({
  ...guarded,
  method: 'get',
  path: '/audit/events',
  summary: 'Search the audit log by time window, actor and patient',
  request: {
    query: z.object({
      from: z.iso.datetime({ offset: true }),
      to: z.iso.datetime({ offset: true }),
      actorId: z.string().max(128).optional(),
      patientId: z.string().max(128).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(200),
    }),
  },
  responses: {
    200: { description: 'Matching events, oldest first', content: { 'application/json': { schema: z.object({ events: z.array(EventSchema), truncated: z.boolean() }) } } },
    400: errorResponse('`validation_failed`: bad window (to before from, or longer than a year)'),
    ...errors,
  },
});

const verify = createRoute({
  ...guarded,
  method: 'get',
  path: '/audit/verify',
  summary: 'Verify the hash chain and signed checkpoints now',
  responses: {
    200: {
      description: 'Chain status',
      content: {
        'application/json': {
          schema: z.object({ ok: z.boolean(), checked: z.number().int(), checkpoints: z.number().int(), headSeq: z.number().int().nullable(), firstBad: z.object({ seq: z.number().int(), reason: z.string() }).nullable() }),
        },
      },
    },
    ...errors,
  },
});

export function auditRoutes(deps: AuditRouteDeps): RouteModule {
  const mw = { middleware: [deps.sessionMw.required] };
  return (app) => {
    app.openapi({ ...search, ...mw }, async (c) => {
      await deps.access.authorize(c, Action.auditRead, { type: 'system' });
      const q = c.req.valid('query');
      const from = new Date(q.from);
      const to = new Date(q.to);
      if (!(to.getTime() > from.getTime()) || to.getTime() - from.getTime() > MAX_WINDOW_MS) {
        throw new AppError(400, ErrorCode.validation, 'The window must run forward and span at most a year', { fields: [{ path: 'query.to', message: 'after from, within a year' }] });
      }
      const events: z.infer<typeof EventSchema>[] = [];
      let truncated = false;
      for await (const r of exportEntries(deps.db, { from, to, ...(q.actorId === undefined ? {} : { actorId: q.actorId }), ...(q.patientId === undefined ? {} : { patientId: q.patientId }) })) {
        if (events.length === q.limit) {
          truncated = true;
          break;
        }
        events.push(eventView(r));
      }
      await deps.audit.append({ ...auditContext(c), action: AuditAction.auditExport, resourceType: 'audit_log', patientId: q.patientId ?? null, outcome: 'success', details: { count: events.length, byActor: q.actorId !== undefined, byPatient: q.patientId !== undefined } });
      return c.json({ events, truncated }, 200);
    });

    app.openapi({ ...verify, ...mw }, async (c) => {
      await deps.access.authorize(c, Action.auditRead, { type: 'system' });
      const result = await verifyChain(deps.db, { publicKeys: deps.checkpointKeys });
      await deps.audit.append({ ...auditContext(c), action: AuditAction.auditVerify, resourceType: 'audit_log', outcome: result.ok ? 'success' : 'failure', details: { checked: result.checked } });
      return c.json({ ok: result.ok, checked: result.checked, checkpoints: result.checkpoints, headSeq: result.head?.seq ?? null, firstBad: result.firstBad === undefined ? null : { seq: result.firstBad.seq, reason: result.firstBad.reason } }, 200);
    });
  };
}
