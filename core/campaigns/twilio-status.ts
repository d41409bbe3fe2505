/**
 * Twilio's message status callback (the `StatusCallback` of a send): verified with the twilio
 * library's own `validateRequest` (HMAC-SHA1 of the exact public URL and every form parameter
 * under the account auth token), then reduced to what delivery tracking needs. The gateway
 * route calls this with the raw form body; deduplication (MessageSid + status) is the caller's.
 *
 * A bad signature is a 403 and a signed request without the expected fields a 400; error
 * messages name no parameter value (the callback carries the patient's number in `To`).
 */
import twilio from 'twilio';
import { z } from 'zod';
import { AppError, ErrorCode } from '../errors.ts';

/** Twilio's message statuses (Message resource `status`). */
export const TwilioMessageStatus = {
  queued: 'queued',
  accepted: 'accepted',
  scheduled: 'scheduled',
  sending: 'sending',
  sent: 'sent',
  delivered: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
  read: 'read',
  canceled: 'canceled',
  partiallyDelivered: 'partially_delivered',
  receiving: 'receiving',
  received: 'received',
} as const;
export type TwilioMessageStatus = (typeof TwilioMessageStatus)[keyof typeof TwilioMessageStatus];

/** Statuses after which Twilio sends nothing more for a message. */
export const FINAL_STATUSES: ReadonlySet<TwilioMessageStatus> = new Set([TwilioMessageStatus.delivered, TwilioMessageStatus.undelivered, TwilioMessageStatus.failed, TwilioMessageStatus.read, TwilioMessageStatus.canceled]);

export interface StatusCallbackRequest {
  readonly authToken: string;
  /** The full public URL Twilio posted to, exactly as given in `StatusCallback` (query included). */
  readonly url: string;
  /** The `X-Twilio-Signature` header; undefined when absent. */
  readonly signature: string | undefined;
  /** The raw `application/x-www-form-urlencoded` body. */
  readonly body: string;
}

export interface StatusCallback {
  readonly messageSid: string;
  readonly status: TwilioMessageStatus;
  /** Twilio's error code for `failed` / `undelivered` (e.g. 30003 unreachable handset). */
  readonly errorCode?: number;
}

const MAX_BODY = 16 * 1024;

const StatusSchema = z.looseObject({
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-f]{32}$/i),
  MessageStatus: z.enum(Object.values(TwilioMessageStatus) as [TwilioMessageStatus, ...TwilioMessageStatus[]]),
  ErrorCode: z.string().regex(/^\d{1,6}$/).optional(),
});

/** Every form field, repeated names as arrays (what the validator expects; it sorts them itself). */
/** Where Twilio posts delivery statuses of reminder texts (the gateway serves it, workers name it). */
export const TWILIO_STATUS_PATH = '/webhooks/twilio/status';

/** The signed parameters of a Twilio webhook: every form field, repeated names as arrays (the validator sorts them). */
export function formParams(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}

/** Verifies and parses one status callback; throws AppError 403 (signature) or 400 (shape). */
export function parseStatusCallback(req: StatusCallbackRequest): StatusCallback {
  if (req.authToken === '') throw new Error('verifying Twilio callbacks needs the auth token');
  if (req.body.length > MAX_BODY) throw new AppError(413, ErrorCode.payloadTooLarge, 'Status callback too large');
  const params = formParams(req.body);
  if (req.signature === undefined || req.signature === '' || !twilio.validateRequest(req.authToken, req.signature, req.url, params)) {
    throw new AppError(403, ErrorCode.forbidden, 'Webhook signature missing or invalid');
  }
  const parsed = StatusSchema.safeParse(params);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => ({ path: `body.${i.path.join('.')}`, message: 'Invalid or missing' }));
    throw new AppError(400, ErrorCode.validation, 'Not a message status callback', { fields });
  }
  const { MessageSid, MessageStatus, ErrorCode: code } = parsed.data;
  return { messageSid: MessageSid, status: MessageStatus, ...(code === undefined || code === '0' ? {} : { errorCode: Number(code) }) };
}
