/**
 * SMS delivery through Twilio's Messages API, with the real `twilio` library. Every failure is
 * turned into one of the three channel errors (errors.ts) by what it says about the message:
 *   - HTTP 429 / code 20429: not accepted, retry later (Retry-After honoured);
 *   - any other 4xx (21211 invalid 'To', 21610 unsubscribed, 21614 not mobile, 21408 region not
 *     enabled, 21612 unreachable, …): Twilio refused the request and created nothing; the same
 *     request will be refused again → permanent;
 *   - 5xx, or a connection lost after the request may have been written: the message may exist
 *     at Twilio → ambiguous;
 *   - a connection never made (refused, DNS, TLS verification): nothing was sent → retryable.
 *
 * Reconciling an ambiguous send. Twilio's Messages API takes no idempotency key, so the only
 * way to learn whether an earlier attempt created a message is to look: `findByIdempotencyKey`
 * lists recent messages to the same number and looks for this delivery's reference, a short tag
 * derived (SHA-256) from the idempotency key that `send` appends to the body ("Ref 1A2B3C4D5E").
 * The tag carries no PHI and no id of ours. When Twilio does not keep bodies (content retention
 * "discard", redaction) the answer is "cannot tell" (undefined), never a guess.
 */
import { createHash } from 'node:crypto';
import twilio from 'twilio';
import { AmbiguousChannelError, ChannelError, PermanentChannelError, RetryableChannelError } from './errors.ts';
import { TwilioHttpClient } from './twilio-http.ts';

export type SmsSender = { readonly from: string } | { readonly messagingServiceSid: string };

export interface SmsChannelOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** A Twilio number (E.164) or a Messaging Service SID (`MG…`). */
  readonly sender: SmsSender;
  /** Where Twilio posts delivery status changes (see twilio-status.ts). */
  readonly statusCallbackUrl?: string;
  /** Send to this origin instead of `https://api.twilio.com` (the fake in tests). */
  readonly apiBaseUrl?: string;
  /** Whole-request timeout. A timeout is ambiguous, so this is generous. Default 15 s. */
  readonly timeoutMs?: number;
  /** Append the reconciliation reference to every body. Default true; without it reconciliation always answers "cannot tell". */
  readonly reference?: boolean;
}

export interface SmsSendInput {
  /** E.164 number. */
  readonly to: string;
  readonly body: string;
  /** Stable per delivery across attempts (the delivery id). */
  readonly idempotencyKey: string;
}

export interface SmsSendResult {
  /** Twilio's message SID (`SM…`). */
  readonly providerMessageId: string;
  /** Twilio's status at creation: `queued`, `accepted` or `scheduled`. */
  readonly status: string;
}

export interface SmsLookup {
  readonly to: string;
  readonly idempotencyKey: string;
  /** When the first attempt started; older messages are not considered. */
  readonly since: Date;
}

/** How far before `since` a message may be dated and still count (clock skew between us and Twilio). */
const CLOCK_SKEW_MS = 5 * 60_000;
/** Messages to one number looked at when reconciling; more than this since `since` = cannot tell. */
const LOOKUP_LIMIT = 200;

/** Network errors raised before any byte of the request could reach Twilio. */
const NEVER_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** The body tag of one delivery: 10 hex digits of SHA-256(key), so the key itself never leaves. */
export function smsReference(idempotencyKey: string): string {
  return `Ref ${createHash('sha256').update(idempotencyKey, 'utf8').digest('hex').slice(0, 10).toUpperCase()}`;
}

/** Maps anything the twilio library (or its HTTP client) throws to a channel error. */
export function classifyTwilioError(err: unknown): ChannelError {
  if (err instanceof ChannelError) return err;
  if (typeof err === 'object' && err !== null) {
    const e = err as { isAxiosError?: unknown; code?: unknown; status?: unknown };
    if (e.isAxiosError === true) {
      const code = typeof e.code === 'string' ? e.code : 'unknown';
      return NEVER_CONNECTED.has(code)
        ? new RetryableChannelError('network', `Twilio unreachable (${code})`, { cause: err })
        : new AmbiguousChannelError('network', `Twilio connection lost (${code}); the message may have been created`, { cause: err });
    }
    // RestException and TwilioServiceException both carry the HTTP status and Twilio's code.
    if (typeof e.status === 'number') {
      const code = typeof e.code === 'number' ? String(e.code) : `http_${e.status}`;
      if (e.status === 429) return new RetryableChannelError(code, `Twilio rate limit (code ${code})`, { cause: err });
      if (e.status >= 400 && e.status < 500) return new PermanentChannelError(code, `Twilio refused the message (code ${code})`, { cause: err });
      return new AmbiguousChannelError(code, `Twilio answered HTTP ${e.status} (code ${code}); the message may have been created`, { cause: err });
    }
  }
  return new AmbiguousChannelError('unknown', 'Twilio request failed in an unknown way; the message may have been created', { cause: err });
}

export class SmsChannel {
  readonly #http: TwilioHttpClient;
  readonly #client: twilio.Twilio;
  readonly #sender: SmsSender;
  readonly #statusCallbackUrl: string | undefined;
  readonly #reference: boolean;
  #closed = false;

  constructor(options: SmsChannelOptions) {
    this.#http = new TwilioHttpClient({ timeoutMs: options.timeoutMs ?? 15_000, ...(options.apiBaseUrl === undefined ? {} : { baseUrl: options.apiBaseUrl }) });
    this.#client = twilio(options.accountSid, options.authToken, { httpClient: this.#http, autoRetry: false });
    this.#sender = options.sender;
    this.#statusCallbackUrl = options.statusCallbackUrl;
    this.#reference = options.reference ?? true;
  }

  /** Creates the message at Twilio. Throws Permanent/Retryable/AmbiguousChannelError. */
  async send(input: SmsSendInput): Promise<SmsSendResult> {
    if (this.#closed) throw new RetryableChannelError('closed', 'SMS channel is closed');
    const body = this.#reference ? `${input.body}\n${smsReference(input.idempotencyKey)}` : input.body;
    try {
      const m = await this.#client.messages.create({
        to: input.to,
        body,
        ...('from' in this.#sender ? { from: this.#sender.from } : { messagingServiceSid: this.#sender.messagingServiceSid }),
        ...(this.#statusCallbackUrl === undefined ? {} : { statusCallback: this.#statusCallbackUrl }),
      });
      return { providerMessageId: m.sid, status: m.status };
    } catch (err) {
      throw classifyTwilioError(err);
    }
  }

  /**
   * The SID of a message an earlier attempt of this delivery created, found by its body
   * reference: a string = it exists (record it as sent); null = Twilio has no such message since
   * `since` (safe to send again); undefined = cannot tell (bodies not kept, or too many messages).
   * Failing to ask Twilio throws a channel error: try again later rather than guess.
   */
  async findByIdempotencyKey(lookup: SmsLookup): Promise<string | null | undefined> {
    if (!this.#reference) return undefined;
    const ref = smsReference(lookup.idempotencyKey);
    const from = lookup.since.getTime() - CLOCK_SKEW_MS;
    let messages: Awaited<ReturnType<twilio.Twilio['messages']['list']>>;
    try {
      messages = await this.#client.messages.list({ to: lookup.to, ...('from' in this.#sender ? { from: this.#sender.from } : {}), limit: LOOKUP_LIMIT, pageSize: 50 });
    } catch (err) {
      throw classifyTwilioError(err);
    }
    let unreadable = false;
    let oldestInWindow = true;
    for (const m of messages) {
      if (m.dateCreated.getTime() < from) {
        oldestInWindow = false;
        continue;
      }
      if (!m.direction.startsWith('outbound')) continue;
      if (m.body.endsWith(ref)) return m.sid;
      if (m.body === '') unreadable = true;
    }
    if (unreadable) return undefined;
    // Newest first: a full list whose oldest is still in the window may have missed it.
    if (messages.length >= LOOKUP_LIMIT && oldestInWindow) return undefined;
    return null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#http.close();
  }
}
