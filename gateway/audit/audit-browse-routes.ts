/**
 * What the auditor and privacy-officer consoles need beyond GET /audit/events and /audit/verify:
 * a search that filters by action and break-glass flag and pages by seq (stable while the chain
 * grows, so a client can page a whole window into a JSON Lines file), counts per hour or day for
 * the activity chart, the closed action vocabulary for the action filter, the latest signed
 * checkpoint, and how many flagged actions each break-glass grant was used for. Every read of
 * audit entries is itself audited (`audit.export`); the vocabulary and the checkpoint row are
 * not entries and are not.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { AuditAction, isAuditAction, type AuditLog } from '../../core/audit/index.ts';
import type { Db } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { isIanaTimeZone } from '../../core/patients/schema.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import { auditContext } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { errorResponse, guardedErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import { auditActivity, Bucket, grantUsage, latestCheckpoint, searchAudit } from './audit-queries.ts';
import { SearchEventSchema, searchEventView } from './event-view.ts';

export interface AuditBrowseRouteDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
}

const guarded = { security: [{ session: [] }], tags: ['audit'] };
const { 404: _notFound, ...errors } = guardedErrors;
const ok = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema } } });
const DAY_MS = 86_400_000;
const MAX_WINDOW_MS = 366 * DAY_MS;
/** Hourly buckets over at most 31 days (744 bars); daily over the whole year a window may span. */
const MAX_HOURLY_WINDOW_MS = 31 * DAY_MS;
const MAX_USAGE_IDS = 200;
const ALL_ACTIONS = Object.values(AuditAction);

const windowQuery = {
  from: z.iso.datetime({ offset: true }).openapi({ description: 'Start of the window (inclusive).' }),
  to: z.iso.datetime({ offset: true }).openapi({ description: 'End of the window (exclusive); after `from`, at most 366 days later.' }),
};
const id = z.string().min(1).max(128);

const search = createRoute({
  ...guarded,
  method: 'get',
  path: '/audit/search',
  summary: 'Search the audit log (window, actor, patient, action, break-glass), a page at a time',
  description:
    'Pages by seq: pass `next` back as `after` and the first page’s `until` as `until`, so entries appended meanwhile (this search is one) never shift the pages. `total` is counted on the first page only.',
  request: {
    query: z.object({
      ...windowQuery,
      actorId: id.optional(),
      patientId: id.optional(),
      action: z.string().max(64).optional().openapi({ description: 'One action of the closed vocabulary (GET /audit/actions).' }),
      breakGlass: z.enum(['true', 'false']).optional().openapi({ description: 'Only entries written under (true) or not under (false) emergency access.' }),
      order: z.enum(['asc', 'desc']).default('desc').openapi({ description: 'By seq: oldest first (exports) or newest first (default).' }),
      after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      until: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
    }),
  },
  responses: {
    200: ok('A page of matching entries', z.object({ events: z.array(SearchEventSchema), next: z.number().int().nullable(), until: z.number().int(), total: z.number().int().nullable() })),
    400: errorResponse('`validation_failed`: bad window (to before from, or longer than 366 days), an unknown action'),
    ...errors,
  },
});

const activity = createRoute({
  ...guarded,
  method: 'get',
  path: '/audit/activity',
  summary: 'Audit entries per hour or day and action, for a chart',
  request: {
    query: z.object({
      ...windowQuery,
      bucket: z.enum([Bucket.hour, Bucket.day]).default(Bucket.hour).openapi({ description: 'Hourly buckets need a window of at most 31 days.' }),
      timeZone: z.string().max(64).default('UTC').openapi({ description: 'IANA time zone the hours and days are counted in.', example: 'America/Chicago' }),
    }),
  },
  responses: {
    200: ok(
      'Counts per bucket (empty buckets left out), oldest first',
      z.object({
        bucket: z.enum([Bucket.hour, Bucket.day]),
        timeZone: z.string(),
        total: z.number().int(),
        buckets: z.array(z.object({ start: z.string(), counts: z.record(z.string(), z.number().int()) })),
      }),
    ),
    400: errorResponse('`validation_failed`: bad window, unknown time zone, hourly buckets over more than 31 days'),
    ...errors,
  },
});

const actions = createRoute({
  ...guarded,
  method: 'get',
  path: '/audit/actions',
  summary: 'The closed vocabulary of audit actions',
  responses: { 200: ok('Every action the chain can record', z.object({ actions: z.array(z.string()) })), ...errors },
});

const checkpoint = createRoute({
  ...guarded,
  method: 'get',
  path: '/audit/checkpoints/latest',
  summary: 'The latest signed checkpoint of the chain head (GET /audit/verify checks its signature)',
  responses: { 200: ok('Latest checkpoint, or null before the first', z.object({ checkpoint: z.object({ seq: z.number().int(), at: z.string(), keyId: z.string() }).nullable() })), ...errors },
});

const usage = createRoute({
  ...guarded,
  method: 'get',
  path: '/audit/break-glass-usage',
  summary: 'How many flagged actions each break-glass grant was used for (privacy officers)',
  request: {
    query: z.object({
      ids: z
        .string()
        .min(36)
        .max(MAX_USAGE_IDS * 37)
        .openapi({ description: `Comma-separated grant ids (at most ${MAX_USAGE_IDS}), as GET /break-glass/reviews lists them.` }),
    }),
  },
  responses: {
    200: ok('Usage per known grant (unknown ids left out)', z.object({ usage: z.array(z.object({ grantId: z.string(), actions: z.number().int(), lastAt: z.string().nullable() })) })),
    400: errorResponse('`validation_failed`: not a list of grant ids'),
    ...errors,
  },
});

function checkWindow(q: { from: string; to: string }): { from: Date; to: Date } {
  const from = new Date(q.from);
  const to = new Date(q.to);
  if (!(to.getTime() > from.getTime()) || to.getTime() - from.getTime() > MAX_WINDOW_MS) {
    throw new AppError(400, ErrorCode.validation, 'The window must run forward and span at most 366 days', { fields: [{ path: 'query.to', message: 'After from, within 366 days' }] });
  }
  return { from, to };
}

const invalid = (path: string, message: string): AppError => new AppError(400, ErrorCode.validation, 'Invalid query', { fields: [{ path, message }] });

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function auditBrowseRoutes(deps: AuditBrowseRouteDeps): RouteModule {
  const { db, access } = deps;
  const mw = { middleware: [deps.sessionMw.required] };
  const system = { type: 'system' } as const;

  return (app) => {
    app.openapi({ ...search, ...mw }, async (c) => {
      await access.authorize(c, Action.auditRead, system);
      const q = c.req.valid('query');
      const { from, to } = checkWindow(q);
      if (q.action !== undefined && !isAuditAction(q.action)) throw invalid('query.action', 'Not an audit action (see GET /audit/actions)');
      if (q.after !== undefined && q.until === undefined) throw invalid('query.until', 'Required with after: pass the first page’s until');
      const result = await searchAudit(
        db,
        { from, to, actorId: q.actorId, patientId: q.patientId, action: q.action, breakGlass: q.breakGlass === undefined ? undefined : q.breakGlass === 'true' },
        { order: q.order, after: q.after, until: q.until, limit: q.limit },
      );
      await deps.audit.append({
        ...auditContext(c),
        action: AuditAction.auditExport,
        resourceType: 'audit_log',
        patientId: q.patientId ?? null,
        outcome: 'success',
        details: { view: 'search', count: result.records.length, byActor: q.actorId !== undefined, byPatient: q.patientId !== undefined, byAction: q.action ?? null, page: q.after === undefined ? 'first' : 'next' },
      });
      return c.json({ events: result.records.map(searchEventView), next: result.next, until: result.until, total: result.total }, 200);
    });

    app.openapi({ ...activity, ...mw }, async (c) => {
      await access.authorize(c, Action.auditRead, system);
      const q = c.req.valid('query');
      const { from, to } = checkWindow(q);
      if (!isIanaTimeZone(q.timeZone)) throw invalid('query.timeZone', 'Expected an IANA time zone such as America/Chicago');
      if (q.bucket === Bucket.hour && to.getTime() - from.getTime() > MAX_HOURLY_WINDOW_MS) throw invalid('query.bucket', 'Hourly buckets need a window of at most 31 days: use day');
      const buckets = await auditActivity(db, { from, to, bucket: q.bucket, timeZone: q.timeZone });
      let total = 0;
      for (const b of buckets) for (const n of Object.values(b.counts)) total += n;
      await deps.audit.append({ ...auditContext(c), action: AuditAction.auditExport, resourceType: 'audit_log', outcome: 'success', details: { view: 'activity', bucket: q.bucket, count: total } });
      return c.json({ bucket: q.bucket, timeZone: q.timeZone, total, buckets: buckets.map((b) => ({ start: b.start.toISOString(), counts: b.counts })) }, 200);
    });

    app.openapi({ ...actions, ...mw }, async (c) => {
      await access.authorize(c, Action.auditRead, system);
      return c.json({ actions: ALL_ACTIONS }, 200);
    });

    app.openapi({ ...checkpoint, ...mw }, async (c) => {
      await access.authorize(c, Action.auditRead, system);
      const cp = await latestCheckpoint(db);
      return c.json({ checkpoint: cp === null ? null : { seq: cp.seq, at: cp.at.toISOString(), keyId: cp.keyId } }, 200);
    });

    app.openapi({ ...usage, ...mw }, async (c) => {
      await access.authorize(c, Action.breakGlassReview, system);
      const ids = c.req.valid('query').ids.split(',');
      if (ids.length > MAX_USAGE_IDS || !ids.every((i) => UUID_RE.test(i))) throw invalid('query.ids', `Up to ${MAX_USAGE_IDS} comma-separated grant ids`);
      const found = await grantUsage(db, [...new Set(ids.map((i) => i.toLowerCase()))]);
      await deps.audit.append({ ...auditContext(c), action: AuditAction.auditExport, resourceType: 'break_glass', outcome: 'success', details: { view: 'break_glass_usage', count: found.length } });
      return c.json({ usage: found.map((u) => ({ grantId: u.grantId, actions: u.actions, lastAt: u.lastAt?.toISOString() ?? null })) }, 200);
    });
  };
}
