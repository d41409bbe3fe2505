/**
 * Twilio's delivery-status callbacks for reminder texts: signed like every Twilio webhook
 * (verified with the twilio library; unsigned or wrongly signed → 403, audited), matched to the
 * delivery by MessageSid, and applied once: a `sent` delivery becomes `delivered` or
 * `undelivered` on the first final status, audited; repeats and intermediate statuses change
 * nothing. Answers 204 either way, so Twilio stops retrying.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { AuditAction, AuditOutcome, type AuditLog } from '../../core/audit/index.ts';
import { FINAL_STATUSES, parseStatusCallback, TWILIO_STATUS_PATH } from '../../core/campaigns/twilio-status.ts';
import type { Db } from '../../core/db/types.ts';
import { AppError } from '../../core/errors.ts';
import { auditContext } from '../auth/request-auth.ts';
import { commonErrors, errorResponse } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

export { TWILIO_STATUS_PATH };

export interface StatusWebhookDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly authToken: string;
  /** The exact public URL Twilio posts to (the signature covers it). */
  readonly url: () => string;
}

const route = createRoute({
  method: 'post',
  path: TWILIO_STATUS_PATH,
  tags: ['webhooks'],
  summary: 'Delivery status of a reminder text, from Twilio',
  description: 'Form-encoded `MessageSid`, `MessageStatus`, `ErrorCode`; authenticated by `X-Twilio-Signature`, not by a session.',
  request: { headers: z.object({ 'x-twilio-signature': z.string().max(512).optional() }) },
  responses: {
    204: { description: 'Applied (or nothing to apply)' },
    400: errorResponse('`validation_failed`: signed, but not a status callback'),
    403: errorResponse('`forbidden`: the signature is missing or wrong (audited `webhook.refused`)'),
    ...commonErrors,
  },
});

export function statusWebhookRoutes(deps: StatusWebhookDeps): RouteModule {
  return (app) => {
    app.openapi(route, async (c) => {
      let status;
      try {
        status = parseStatusCallback({ authToken: deps.authToken, url: deps.url(), signature: c.req.header('x-twilio-signature'), body: await c.req.text() });
      } catch (err) {
        if (err instanceof AppError && err.status === 403) {
          const reason = c.req.header('x-twilio-signature') === undefined ? 'signature_missing' : 'signature_invalid';
          await deps.audit.append({ ...auditContext(c), action: AuditAction.webhookRefused, outcome: AuditOutcome.denied, resourceType: 'webhook', resourceId: 'twilio.status', details: { reason } });
        }
        throw err;
      }
      if (!FINAL_STATUSES.has(status.status)) return c.body(null, 204);
      const delivered = status.status === 'delivered' || status.status === 'read';
      await deps.db.transaction(async (tx) => {
        const [row] = await tx.query<{ id: string; patient_id: string; campaign_id: string }>(
          `UPDATE deliveries SET state = $2, reason = $3, updated_at = now()
            WHERE provider_message_id = $1 AND state = 'sent' RETURNING id, patient_id, campaign_id`,
          [status.messageSid, delivered ? 'delivered' : 'undelivered', delivered ? null : 'carrier_undelivered'],
        );
        if (row === undefined) return;
        await deps.audit.append(
          {
            actorType: 'system',
            actorId: 'twilio',
            action: delivered ? AuditAction.reminderDelivered : AuditAction.reminderFailed,
            resourceType: 'delivery',
            resourceId: row.id,
            patientId: row.patient_id,
            outcome: delivered ? AuditOutcome.success : AuditOutcome.failure,
            details: { campaignId: row.campaign_id, providerMessageId: status.messageSid, status: status.status, ...(status.errorCode === undefined ? {} : { errorCode: status.errorCode }) },
          },
          tx,
        );
      });
      return c.body(null, 204);
    });
  };
}
