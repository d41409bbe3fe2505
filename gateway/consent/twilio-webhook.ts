/**
 * POST /webhooks/twilio/sms: inbound SMS from Twilio. The X-Twilio-Signature is checked with the
 * twilio library's own validator against the public URL configured in Twilio, before anything
 * else is read; a missing or wrong signature is a 403 and a `webhook.refused` audit record.
 *
 * Keywords (see sms-keywords.ts): an opt-out revokes SMS consent for every purpose, START
 * re-consents to appointment reminders by SMS, HELP answers with the clinic's name and how to
 * opt out. The sender is found through the contact blind index; every patient sharing the number
 * is affected (a STOP is about the phone). The MessageSid is the evidence, so a redelivered
 * webhook adds nothing. The reply never depends on whether the number belongs to a patient, so
 * the endpoint cannot be used to probe for patients; unknown numbers leave no audit trace.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { formParams } from '../../core/campaigns/twilio-status.ts';
import type { Context, MiddlewareHandler } from 'hono';
import twilio from 'twilio';
import { AuditAction, AuditOutcome, type AuditActor, type AuditLog } from '../../core/audit/index.ts';
import { CONSENT_PURPOSES, ConsentChannel, ConsentMethod, ConsentPurpose, ConsentState, type ConsentInput, type ConsentLedger, type ContactIndex } from '../../core/consent/index.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { AppEnv } from '../app-env.ts';
import { auditContext } from '../auth/request-auth.ts';
import { commonErrors, errorResponse } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import { classifySms, SmsKeyword } from './sms-keywords.ts';

export interface TwilioWebhookDeps {
  readonly ledger: ConsentLedger;
  readonly contacts: ContactIndex;
  readonly audit: AuditLog;
  /** The Twilio account's auth token (signs every webhook). */
  readonly authToken: string;
  /** The exact URL configured for this webhook in Twilio, e.g. `https://clinic.example/webhooks/twilio/sms`. */
  readonly webhookUrl: string | (() => string);
  /** Named in the HELP reply. Not PHI. */
  readonly clinicName: string;
  /**
   * Confirm STOP and START with our own reply. Off by default: with Twilio's (default) Advanced
   * Opt-Out, Twilio answers the keywords itself and refuses any message to a number that just
   * sent STOP, our TwiML reply included.
   */
  readonly confirmKeywords?: boolean;
}

export const TWILIO_SMS_PATH = '/webhooks/twilio/sms';
/** Who the consent ledger and the audit chain say acted on an SMS keyword. */
export const SMS_KEYWORD_ACTOR = 'sms-keyword';

const InboundSmsSchema = z
  .looseObject({
    MessageSid: z.string().regex(/^[A-Z]{2}[0-9a-fA-F]{32}$/, { message: 'expected a Twilio message SID' }),
    From: z.string().min(1).max(64),
    Body: z.string().max(1600).default(''),
  })
  .openapi('TwilioInboundSms', { description: 'Twilio’s inbound message parameters (only these are read; the rest are signed and ignored).' });

const inbound = createRoute({
  method: 'post',
  path: TWILIO_SMS_PATH,
  tags: ['webhooks'],
  summary: 'Inbound SMS from Twilio: STOP / START / HELP keywords',
  description: 'Authenticated by `X-Twilio-Signature` (HMAC of the configured URL and the form parameters under the account auth token), not by a session.',
  request: {
    headers: z.object({ 'x-twilio-signature': z.string().max(512).optional() }),
    body: { required: true, content: { 'application/x-www-form-urlencoded': { schema: InboundSmsSchema } } },
  },
  responses: {
    200: { description: 'TwiML: a reply for HELP (and STOP/START when confirmations are on), else an empty response', content: { 'text/xml': { schema: z.string() } } },
    400: errorResponse('`validation_failed`: a correctly signed request without the expected parameters'),
    403: errorResponse('`forbidden`: the signature is missing or wrong (audited `webhook.refused`)'),
    ...commonErrors,
  },
});

function twimlReply(c: Context<AppEnv>, text: string | null): Response {
  const reply = new twilio.twiml.MessagingResponse();
  if (text !== null) reply.message(text);
  return c.body(reply.toString(), 200, { 'Content-Type': 'text/xml; charset=utf-8' });
}

type KeywordHandler = (patientIds: readonly string[], messageSid: string, actor: AuditActor) => Promise<void>;

export function twilioWebhookRoutes(deps: TwilioWebhookDeps): RouteModule {
  const { ledger, contacts, audit, authToken, webhookUrl } = deps;
  if (authToken === '') throw new Error('the Twilio webhook needs an auth token');

  const verifySignature: MiddlewareHandler<AppEnv> = async (c, next) => {
    const signature = c.req.header('x-twilio-signature');
    const isForm = /^application\/x-www-form-urlencoded\b/i.test(c.req.header('content-type') ?? '');
    // Read as text: the form validator after us re-parses the same cached body.
    const params = isForm ? formParams(await c.req.text()) : null;
    const reason = signature === undefined || signature === '' ? 'signature_missing' : params === null || !twilio.validateRequest(authToken, signature, typeof webhookUrl === 'function' ? webhookUrl() : webhookUrl, params) ? 'signature_invalid' : null;
    if (reason !== null) {
      await audit.append({ ...auditContext(c), action: AuditAction.webhookRefused, outcome: AuditOutcome.denied, resourceType: 'webhook', resourceId: 'twilio.sms', details: { reason } });
      throw new AppError(403, ErrorCode.forbidden, 'Webhook signature missing or invalid');
    }
    await next();
  };

  const revokeAll = (patientIds: readonly string[], sid: string): ConsentInput[] =>
    patientIds.flatMap((patientId) => CONSENT_PURPOSES.map((purpose) => ({ patientId, channel: ConsentChannel.sms, purpose, state: ConsentState.revoked, method: ConsentMethod.keyword, evidenceRef: sid })));

  const handlers: { readonly [K in SmsKeyword]: KeywordHandler } = {
    [SmsKeyword.optOut]: async (patientIds, sid, actor) => {
      await ledger.recordMany(revokeAll(patientIds, sid), actor, { dedupe: 'evidence' });
    },
    [SmsKeyword.optIn]: async (patientIds, sid, actor) => {
      const inputs = patientIds.map((patientId) => ({ patientId, channel: ConsentChannel.sms, purpose: ConsentPurpose.appointmentReminders, state: ConsentState.granted, method: ConsentMethod.keyword, evidenceRef: sid }));
      await ledger.recordMany(inputs, actor, { dedupe: 'evidence' });
    },
    [SmsKeyword.help]: () => Promise.resolve(),
  };

  const clinic = deps.clinicName;
  const replies: { readonly [K in SmsKeyword]: string | null } = {
    [SmsKeyword.help]: `${clinic}: appointment reminders. Reply STOP to opt out, START to opt back in. Msg&data rates may apply.`,
    [SmsKeyword.optOut]: deps.confirmKeywords === true ? `${clinic}: you will receive no more text messages. Reply START to opt back in.` : null,
    [SmsKeyword.optIn]: deps.confirmKeywords === true ? `${clinic}: appointment reminders by text are on again. Reply STOP to opt out.` : null,
  };

  return (app) => {
    app.openapi({ ...inbound, middleware: [verifySignature] }, async (c) => {
      const form = c.req.valid('form');
      const keyword = classifySms(form.Body);
      if (keyword === null) return twimlReply(c, null);
      const patientIds = keyword === SmsKeyword.help ? [] : await contacts.findByContact('phone', form.From);
      if (patientIds.length > 0) {
        const actor: AuditActor = { ...auditContext(c), actorType: 'system', actorId: SMS_KEYWORD_ACTOR };
        await handlers[keyword](patientIds, form.MessageSid, actor);
      }
      return twimlReply(c, replies[keyword]);
    });
  };
}
