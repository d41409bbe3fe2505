/**
 * Typed errors. Anything thrown toward a client is an AppError; the gateway's one onError maps
 * it to `{error:{code,message,fields?}}`. Messages must never contain PHI or secrets.
 */

export const ErrorCode = {
  badRequest: 'bad_request',
  validation: 'validation_failed',
  malformedJson: 'malformed_json',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  notFound: 'not_found',
  methodNotAllowed: 'method_not_allowed',
  conflict: 'conflict',
  rateLimited: 'rate_limited',
  unavailable: 'service_unavailable',
  internal: 'internal_error',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One entry per offending input location, e.g. `{ path: 'body.email', message: 'Required' }`. */
/** A value an error may carry next to its code (e.g. `opensAt`, the device lists of a 409). */
export type ErrorExtraValue = string | number | boolean | readonly number[] | readonly string[];

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: readonly FieldError[] | undefined;
  /** For 429/503: seconds the client should wait, sent as Retry-After. */
  readonly retryAfterSec: number | undefined;
  /** Extra client-safe fields added to the error body (e.g. `opensAt` of a visit link). Never PHI. */
  readonly extra: Readonly<Record<string, ErrorExtraValue>> | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options?: { fields?: readonly FieldError[]; cause?: unknown; retryAfterSec?: number; extra?: Readonly<Record<string, ErrorExtraValue>> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.fields = options?.fields;
    this.retryAfterSec = options?.retryAfterSec;
    this.extra = options?.extra;
  }
}

/** A start-up problem the operator must fix (bad config, missing dependency). Printed without a stack. */
export class StartupError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StartupError';
    this.hint = hint;
  }
}

/** Narrow an unknown catch value to a message safe for operator logs (never for clients). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
