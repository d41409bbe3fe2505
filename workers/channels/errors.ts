/**
 * What a delivery channel throws, by what the worker must do next. The class is the decision:
 * - `PermanentChannelError`: the provider refused this message for good (bad or unsubscribed
 *   number, mailbox does not exist). Never retried; the worker throws BullMQ's UnrecoverableError.
 * - `RetryableChannelError`: the provider certainly did NOT accept the message (rate limit, a 4xx
 *   SMTP reply, a connection that was never made). Safe to send again, after `retryAfterMs` if set.
 * - `AmbiguousChannelError`: the request may have reached the provider and been accepted (a
 *   dropped connection after the request was written, a 5xx). Sending again could deliver twice:
 *   the worker must reconcile with the provider first, never resend blindly.
 *
 * Messages carry the provider's numeric code only, never the provider's text: Twilio and SMTP
 * servers echo the recipient's address in theirs, and that is PHI.
 */

export const ChannelOutcome = {
  permanent: 'permanent',
  retryable: 'retryable',
  ambiguous: 'ambiguous',
} as const;
export type ChannelOutcome = (typeof ChannelOutcome)[keyof typeof ChannelOutcome];

export abstract class ChannelError extends Error {
  abstract readonly outcome: ChannelOutcome;
  /** The provider's code (`21211`, `smtp_550`, `network`): for the delivery row's `reason` and the audit details. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export class PermanentChannelError extends ChannelError {
  readonly outcome = ChannelOutcome.permanent;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'PermanentChannelError';
  }
}

export class RetryableChannelError extends ChannelError {
  readonly outcome = ChannelOutcome.retryable;
  /** How long the provider asked us to wait, when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(code: string, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(code, message, options);
    this.name = 'RetryableChannelError';
    this.retryAfterMs = options?.retryAfterMs;
  }
}

export class AmbiguousChannelError extends ChannelError {
  readonly outcome = ChannelOutcome.ambiguous;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'AmbiguousChannelError';
  }
}

/** Seconds (or an HTTP date) from a Retry-After header, as milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date = new Date()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}
