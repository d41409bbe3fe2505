/**
 * Reminder campaigns, producer side: a scheduler creates a campaign (one channel, one template
 * version, a window of appointments — optionally one provider's — or an explicit list), watches
 * its progress, and pauses, resumes or cancels it. Creating writes the campaign and its delivery
 * rows in one transaction, then enqueues one job per delivery on the channel's queue, page by
 * page, with a deterministic id (adding a delivery twice adds nothing). If the queue cannot be
 * reached after the rows are written, the answer is 503 naming the campaign, and resuming it
 * queues whatever is still pending — so does every resume, which also heals a partial enqueue.
 * Workers (workers/reminders) do the sending and re-check everything at send time.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { enqueueDeliveries, type ReminderQueues } from '../../core/campaigns/queue.ts';
import { DeliveryState, type Campaign, type CampaignStore, type Progress } from '../../core/campaigns/store.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import { auditContext } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { errorResponse, guardedErrors, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

export interface CampaignRouteDeps {
  readonly campaigns: CampaignStore;
  readonly queues: ReminderQueues;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
  /** Does this template version exist for the channel? (templates live in core/reminders.) */
  readonly templateExists: (templateId: string, version: number, channel: 'sms' | 'email') => Promise<boolean>;
}

export const CampaignSchema = z
  .object({
    id: z.string(),
    channel: z.enum(['sms', 'email']),
    purpose: z.enum(['appointment_reminders', 'general_outreach']),
    templateId: z.string(),
    templateVersion: z.number().int(),
    status: z.enum(['running', 'paused', 'cancelled', 'completed']),
    total: z.number().int(),
    createdAt: z.string(),
  })
  .openapi('Campaign');

const ProgressSchema = z
  .object({
    campaignId: z.string(),
    status: z.enum(['running', 'paused', 'cancelled', 'completed']),
    total: z.number().int(),
    states: z.record(z.enum(Object.values(DeliveryState) as [DeliveryState, ...DeliveryState[]]), z.number().int()),
    reasons: z.record(z.string(), z.number().int()).openapi({ description: 'Skipped and failed deliveries by reason (no_consent, consent_revoked, appointment_cancelled, …).' }),
  })
  .openapi('CampaignProgress');

const Selector = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('window'),
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    providerId: z.uuid().optional(),
    clinicId: z.uuid().optional().openapi({ description: 'Only appointments at this clinic (combines with providerId).' }),
  }),
  z.strictObject({ kind: z.literal('appointments'), appointmentIds: z.array(z.uuid()).min(1).max(10_000) }),
]);

const CreateBody = z.strictObject({
  channel: z.enum(['sms', 'email']),
  purpose: z.enum(['appointment_reminders', 'general_outreach']).default('appointment_reminders'),
  templateId: z.uuid(),
  templateVersion: z.number().int().min(1),
  selector: Selector,
});

const guarded = { security: [{ session: [] }], tags: ['campaigns'] };
const params = z.object({ id: z.uuid() });
const ok = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema } } });

const create = createRoute({
  ...guarded,
  method: 'post',
  path: '/campaigns',
  summary: 'Create a reminder campaign and queue its deliveries',
  request: { body: jsonBody(CreateBody) },
  responses: { 201: ok('Created and queued', CampaignSchema), 422: errorResponse('`template_not_found`'), 503: errorResponse('`service_unavailable`: saved but not (all) queued; resume the campaign later'), ...jsonBodyErrors, ...guardedErrors },
});
const read = createRoute({ ...guarded, method: 'get', path: '/campaigns/{id}', summary: 'A campaign and its progress', request: { params }, responses: { 200: ok('The campaign', ProgressSchema), ...guardedErrors } });
const change = (path: string, summary: string) =>
  createRoute({ ...guarded, method: 'post', path, summary, request: { params }, responses: { 200: ok('The campaign', CampaignSchema), 409: errorResponse('`conflict`: already cancelled or completed'), 503: errorResponse('`service_unavailable`: resumed, but the job queue is unreachable; resume again later'), ...guardedErrors } });

const view = (c: Campaign): z.infer<typeof CampaignSchema> => ({ ...c, createdAt: c.createdAt.toISOString() });
const progressView = (p: Progress): z.infer<typeof ProgressSchema> => ({ ...p, states: { ...p.states }, reasons: { ...p.reasons } });

export function campaignRoutes(deps: CampaignRouteDeps): RouteModule {
  const mw = { middleware: [deps.sessionMw.required] };
  const system = { type: 'system' } as const;
  const enqueuePending = async (campaign: Campaign): Promise<void> => {
    try {
      await enqueueDeliveries(deps.queues, campaign.channel, campaign.id, deps.campaigns.pendingPages(campaign.id));
    } catch (err) {
      throw new AppError(503, ErrorCode.unavailable, `Campaign ${campaign.id} is saved, but its reminders could not all be queued (the job queue is unreachable); resume the campaign once it is back`, { cause: err, retryAfterSec: 30, extra: { campaignId: campaign.id } });
    }
  };
  return (app) => {
    app.openapi({ ...create, ...mw }, async (c) => {
      await deps.access.authorize(c, Action.campaignManage, system);
      const body = c.req.valid('json');
      if (!(await deps.templateExists(body.templateId, body.templateVersion, body.channel))) {
        throw new AppError(422, 'template_not_found', 'No such template version for this channel; save the template first');
      }
      const selector =
        body.selector.kind === 'window'
          ? {
              kind: 'window' as const,
              from: new Date(body.selector.from),
              to: new Date(body.selector.to),
              ...(body.selector.providerId === undefined ? {} : { providerId: body.selector.providerId }),
              ...(body.selector.clinicId === undefined ? {} : { clinicId: body.selector.clinicId }),
            }
          : body.selector;
      const campaign = await deps.campaigns.create({ channel: body.channel, purpose: body.purpose, templateId: body.templateId, templateVersion: body.templateVersion, selector }, auditContext(c));
      await enqueuePending(campaign);
      return c.json(view(campaign), 201);
    });

    app.openapi({ ...read, ...mw }, async (c) => {
      await deps.access.authorize(c, Action.campaignManage, system);
      const p = await deps.campaigns.progress(c.req.valid('param').id);
      if (p === null) throw new AppError(404, ErrorCode.notFound, 'No such campaign');
      return c.json(progressView(p), 200);
    });

    for (const [verb, status] of [
      ['pause', 'paused'],
      ['resume', 'running'],
      ['cancel', 'cancelled'],
    ] as const) {
      app.openapi({ ...change(`/campaigns/{id}/${verb}`, `${verb[0]?.toUpperCase() ?? ''}${verb.slice(1)} a campaign`), ...mw }, async (c) => {
        await deps.access.authorize(c, Action.campaignManage, system);
        const campaign = await deps.campaigns.setStatus(c.req.valid('param').id, status, auditContext(c));
        if (status === 'running') await enqueuePending(campaign);
        return c.json(view(campaign), 200);
      });
    }
  };
}
