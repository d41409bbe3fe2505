/**
 * Errors of the local messenger API: a stable code the page branches on, an HTTP status, and a
 * message saying what happened and what to do next. SDK and gateway errors are translated here
 * (the gateway's messages are client-safe; none of ours carries a message text or a key).
 */
import { SdkError, SdkErrorCode } from '../errors.ts';

export const LocalErrorCode = {
  /** No or a wrong launch cookie: open the link the terminal printed. */
  unauthenticated: 'unauthenticated',
  /** The per-page token header is missing or wrong. */
  badToken: 'bad_token',
  /** Host header is not 127.0.0.1:<port> (DNS rebinding) or Origin is not this app. */
  hostRefused: 'host_refused',
  originRefused: 'origin_refused',
  validation: 'validation_failed',
  malformedJson: 'malformed_json',
  payloadTooLarge: 'payload_too_large',
  attachmentTooLarge: 'attachment_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  notFound: 'not_found',
  signedOut: 'signed_out',
  alreadySignedIn: 'already_signed_in',
  signInRefused: 'sign_in_refused',
  wrongAccount: 'wrong_account',
  /** The peer's identity key changed after it was verified: acknowledge/re-verify first. */
  identityUnverified: 'identity_not_verified',
  peerUnknown: 'peer_unknown',
  notAllowed: 'not_allowed',
  gatewayUnreachable: 'gateway_unreachable',
  rateLimited: 'rate_limited',
  gatewayError: 'gateway_error',
  attachmentTampered: 'attachment_tampered',
  internal: 'internal_error',
} as const;
export type LocalErrorCode = (typeof LocalErrorCode)[keyof typeof LocalErrorCode];

export class LocalApiError extends Error {
  readonly status: number;
  readonly code: LocalErrorCode;
  readonly fields: readonly { path: string; message: string }[] | undefined;

  constructor(status: number, code: LocalErrorCode, message: string, options?: { cause?: unknown; fields?: readonly { path: string; message: string }[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LocalApiError';
    this.status = status;
    this.code = code;
    this.fields = options?.fields;
  }
}

/** An SDK or gateway failure, in words for the page; `doing` names the action ("send the message"). */
export function fromSdkError(err: SdkError, doing: string): LocalApiError {
  const opts = { cause: err };
  if (err.code === SdkErrorCode.untrustedIdentity) {
    return new LocalApiError(409, LocalErrorCode.identityUnverified, `Could not ${doing}: this person's safety number changed after you verified it. Read the warning in this conversation and acknowledge it, then try again.`, opts);
  }
  if (err.code === SdkErrorCode.network) return new LocalApiError(502, LocalErrorCode.gatewayUnreachable, `Could not ${doing}: the gateway cannot be reached. Check your connection and try again.`, opts);
  if (err.code === SdkErrorCode.attachmentTampered) return new LocalApiError(502, LocalErrorCode.attachmentTampered, 'The attachment does not match what the sender sent (it was altered or damaged). Ask them to send it again.', opts);
  if (err.code === SdkErrorCode.notRegistered) return new LocalApiError(409, LocalErrorCode.signedOut, `Could not ${doing}: this device is not set up yet. Sign in first.`, opts);
  switch (err.status) {
    case 401:
      return new LocalApiError(401, LocalErrorCode.signedOut, `Could not ${doing}: your session with the gateway ended. Sign in again.`, opts);
    case 403:
      return new LocalApiError(403, LocalErrorCode.notAllowed, `Could not ${doing}: you may not message this person (only your care team). Ask the clinic if this is wrong.`, opts);
    case 404:
      return new LocalApiError(404, LocalErrorCode.peerUnknown, `Could not ${doing}: no such user, or they have not set up secure messaging on any device yet.`, opts);
    case 413:
      return new LocalApiError(413, LocalErrorCode.attachmentTooLarge, `Could not ${doing}: the gateway refused it as too large (${err.message}). Send a smaller file.`, opts);
    case 429:
      return new LocalApiError(429, LocalErrorCode.rateLimited, `Could not ${doing}: too many requests. Wait a minute, then try again.`, opts);
    default:
      return new LocalApiError(502, LocalErrorCode.gatewayError, `Could not ${doing}: the gateway answered ${err.status ?? 'unexpectedly'} (${err.code}). Try again; if it keeps failing, tell the clinic.`, opts);
  }
}

/** Translate anything thrown by an SDK call; other errors pass through (they become a bare 500). */
export function translate(err: unknown, doing: string): unknown {
  return err instanceof SdkError ? fromSdkError(err, doing) : err;
}

/** The gateway session is over (401 over HTTP, or the stream's session_ended / device_removed). */
export function sessionGone(err: unknown): boolean {
  if (err instanceof SdkError) return err.status === 401;
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return code === 'session_ended' || code === 'device_removed';
}
