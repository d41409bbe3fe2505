/**
 * Campaign listing and delivery reports over HTTP, for the scheduler's console (`campaign.manage`,
 * schedulers only, like every campaign route): the campaigns newest first with their counts by
 * state, and one campaign's deliveries page by page — delivery and appointment ids, state, skip or
 * failure reason, attempts — from which the console builds its CSV export. No patient id, address,
 * name or message text: the same minimum as the dead-letter view. Reads only; nothing is audited
 * beyond the access decision, as for the progress and dead-letter views.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { DeliveryState, type CampaignStore } from '../../core/campaigns/store.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { errorResponse, guardedErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import { CampaignSchema } from './campaign-routes.ts';
import { REPORT_LIMITS, type CampaignReport, type CampaignSummary, type DeliveryReportRow } from './campaign-report.ts';

export interface CampaignReportRouteDeps {
  readonly report: CampaignReport;
  readonly campaigns: Pick<CampaignStore, 'get'>;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
}

const States = z.enum(Object.values(DeliveryState) as [DeliveryState, ...DeliveryState[]]);

const SummarySchema = CampaignSchema.extend({ states: z.record(States, z.number().int()) })
  .openapi('CampaignSummary');

const DeliverySchema = z
  .object({
    deliveryId: z.string(),
    appointmentId: z.string(),
    channel: z.enum(['sms', 'email']),
    state: States,
    reason: z.string().nullable().openapi({ description: 'Why it was skipped or failed (`no_consent`, `consent_revoked`, `appointment_cancelled`, `provider_refused`, …); null otherwise.' }),
    attempts: z.number().int(),
    updatedAt: z.string(),
  })
  .openapi('CampaignDelivery');

const guarded = { security: [{ session: [] }], tags: ['campaigns'] };
const ok = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema } } });

const list = createRoute({
  ...guarded,
  method: 'get',
  path: '/campaigns',
  summary: 'Reminder campaigns, newest first, with their delivery counts by state',
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(REPORT_LIMITS.campaignsPerPage).default(20),
      before: z.uuid().optional().openapi({ description: '`next` of the previous page.' }),
    }),
  },
  responses: { 200: ok('A page of campaigns; `next` is null on the last page', z.object({ campaigns: z.array(SummarySchema), next: z.string().nullable() })), 400: errorResponse('`validation_failed`'), ...guardedErrors },
});

const deliveries = createRoute({
  ...guarded,
  method: 'get',
  path: '/campaigns/{id}/deliveries',
  summary: 'A campaign’s delivery report: one row per delivery (ids, state, reason), in pages by id',
  request: {
    params: z.object({ id: z.uuid() }),
    query: z.object({
      limit: z.coerce.number().int().min(1).max(REPORT_LIMITS.deliveriesPerPage).default(REPORT_LIMITS.deliveriesPerPage),
      after: z.uuid().optional().openapi({ description: '`next` of the previous page.' }),
    }),
  },
  responses: { 200: ok('A page of deliveries; `next` is null on the last page', z.object({ deliveries: z.array(DeliverySchema), next: z.string().nullable() })), 400: errorResponse('`validation_failed`'), ...guardedErrors },
});

const summaryView = (c: CampaignSummary): z.infer<typeof SummarySchema> => ({ ...c, createdAt: c.createdAt.toISOString(), states: { ...c.states } });
const deliveryView = (d: DeliveryReportRow): z.infer<typeof DeliverySchema> => ({ ...d, updatedAt: d.updatedAt.toISOString() });
/** The cursor of the next page: the last row's, when the page is full (there may be more). */
const nextOf = <T>(rows: readonly T[], limit: number, key: (row: T) => string): string | null => {
  const last = rows.at(-1);
  return rows.length < limit || last === undefined ? null : key(last);
};

export function campaignReportRoutes(deps: CampaignReportRouteDeps): RouteModule {
  const mw = { middleware: [deps.sessionMw.required] };
  const system = { type: 'system' } as const;
  return (app) => {
    app.openapi({ ...list, ...mw }, async (c) => {
      await deps.access.authorize(c, Action.campaignManage, system);
      const { limit, before } = c.req.valid('query');
      const rows = await deps.report.list({ limit, ...(before === undefined ? {} : { before }) });
      return c.json({ campaigns: rows.map(summaryView), next: nextOf(rows, limit, (r) => r.id) }, 200);
    });

    app.openapi({ ...deliveries, ...mw }, async (c) => {
      await deps.access.authorize(c, Action.campaignManage, system);
      const { id } = c.req.valid('param');
      const { limit, after } = c.req.valid('query');
      if ((await deps.campaigns.get(id)) === null) throw new AppError(404, ErrorCode.notFound, 'No such campaign');
      const rows = await deps.report.deliveries(id, { limit, ...(after === undefined ? {} : { after }) });
      return c.json({ deliveries: rows.map(deliveryView), next: nextOf(rows, limit, (r) => r.deliveryId) }, 200);
    });
  };
}
