/**
 * A campaign's dead letters over HTTP, for the scheduler's console (the CLI has the same view:
 * `telehealth campaign dead-letters|replay`): the deliveries that failed for good, with their
 * reason and attempts — ids only, no patient data — and their replay once the cause is fixed.
 * A replay puts the row back to `queued` and the job back on its channel's queue, audited
 * `reminder.replay`; the worker then re-checks consent, appointment and quiet hours as on a first
 * attempt. For `ambiguous_outcome`, confirm with the provider first that nothing was delivered.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { AuditLog } from '../../core/audit/index.ts';
import { listDeadLetters, replayDeadLetters } from '../../core/campaigns/dead-letters.ts';
import type { ReminderQueues } from '../../core/campaigns/queue.ts';
import type { CampaignStore } from '../../core/campaigns/store.ts';
import type { Db } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import { auditContext } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { guardedErrors, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

export interface DeadLetterRouteDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly campaigns: Pick<CampaignStore, 'get'>;
  readonly queues: ReminderQueues;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
}

/** Rows one listing returns (oldest first). */
export const DEAD_LETTER_PAGE = 500;
const MAX_REPLAY_IDS = 1_000;

const DeadLetterSchema = z
  .object({
    deliveryId: z.string(),
    channel: z.enum(['sms', 'email']),
    reason: z.string().nullable().openapi({ description: '`provider_refused` (the provider will refuse it again until the cause is fixed) or `ambiguous_outcome` (check with the provider before replaying).' }),
    attempts: z.number().int(),
    updatedAt: z.string(),
  })
  .openapi('DeadLetter');

const guarded = { security: [{ session: [] }], tags: ['campaigns'] };
const params = z.object({ id: z.uuid() });

const list = createRoute({
  ...guarded,
  method: 'get',
  path: '/campaigns/{id}/dead-letters',
  summary: 'Deliveries of the campaign that failed for good (ids, reasons, attempts)',
  request: { params },
  responses: { 200: { description: `At most ${DEAD_LETTER_PAGE}, oldest first`, content: { 'application/json': { schema: z.object({ deadLetters: z.array(DeadLetterSchema) }) } } }, ...guardedErrors },
});

const replay = createRoute({
  ...guarded,
  method: 'post',
  path: '/campaigns/{id}/replay',
  summary: 'Queue failed deliveries again (all of the campaign’s, or the listed ones); audited',
  request: { params, body: jsonBody(z.strictObject({ deliveryIds: z.array(z.uuid()).min(1).max(MAX_REPLAY_IDS).optional() })) },
  responses: { 200: { description: 'How many went back to the queue', content: { 'application/json': { schema: z.object({ replayed: z.number().int() }) } } }, ...jsonBodyErrors, ...guardedErrors },
});

export function deadLetterRoutes(deps: DeadLetterRouteDeps): RouteModule {
  const mw = { middleware: [deps.sessionMw.required] };
  const system = { type: 'system' } as const;
  const campaignOr404 = async (id: string): Promise<void> => {
    if ((await deps.campaigns.get(id)) === null) throw new AppError(404, ErrorCode.notFound, 'No such campaign');
  };
  return (app) => {
    app.openapi({ ...list, ...mw }, async (c) => {
      await deps.access.authorize(c, Action.campaignManage, system);
      const { id } = c.req.valid('param');
      await campaignOr404(id);
      const rows = await listDeadLetters(deps.db, id, DEAD_LETTER_PAGE);
      return c.json({ deadLetters: rows.map((r) => ({ deliveryId: r.deliveryId, channel: r.channel as 'sms' | 'email', reason: r.reason, attempts: r.attempts, updatedAt: r.updatedAt.toISOString() })) }, 200);
    });

    app.openapi({ ...replay, ...mw }, async (c) => {
      await deps.access.authorize(c, Action.campaignManage, system);
      const { id } = c.req.valid('param');
      await campaignOr404(id);
      const { deliveryIds } = c.req.valid('json');
      // Only this campaign's failed deliveries, whatever ids were sent.
      const replayed = await replayDeadLetters({ db: deps.db, audit: deps.audit, queues: deps.queues }, { campaignId: id, ...(deliveryIds === undefined ? {} : { deliveryIds }) }, auditContext(c));
      return c.json({ replayed }, 200);
    });
  };
}
