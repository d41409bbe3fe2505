/**
 * Error codes the HTTP layer adds to core's ErrorCode vocabulary, and the full list a client can
 * receive from the skeleton (documented in the OpenAPI ErrorResponse schema).
 */
import { ErrorCode } from '../../core/errors.ts';

export const GatewayErrorCode = {
  httpsRequired: 'https_required',
} as const;
export type GatewayErrorCode = (typeof GatewayErrorCode)[keyof typeof GatewayErrorCode];

/** When each code is returned; rendered into the OpenAPI document and the docs page. */
export const ERROR_CODE_DOCS: Readonly<Record<ErrorCode | GatewayErrorCode, string>> = {
  [ErrorCode.badRequest]: '400: the request could not be understood.',
  [ErrorCode.validation]: '400: input failed schema validation; `fields` lists each offending location (`body.email`, `query.limit`, `params.id`).',
  [ErrorCode.malformedJson]: '400: the body declared JSON but is not valid JSON.',
  [ErrorCode.payloadTooLarge]: '413: the body exceeds BODY_LIMIT_BYTES (checked on Content-Length and while streaming chunked bodies).',
  [ErrorCode.unsupportedMediaType]: '415: a body was sent without a Content-Type, or with one the operation does not accept.',
  [ErrorCode.unauthorized]: '401: authentication is missing or invalid.',
  [ErrorCode.forbidden]: '403: authenticated but not allowed.',
  [GatewayErrorCode.httpsRequired]: '403: behind a trusted proxy, the request reached the proxy over plain HTTP.',
  [ErrorCode.notFound]: '404: no such route (or resource).',
  [ErrorCode.methodNotAllowed]: '405: the route exists but not for this method.',
  [ErrorCode.conflict]: '409: the request conflicts with the current state.',
  [ErrorCode.rateLimited]: '429: too many requests.',
  [ErrorCode.unavailable]: '503: a dependency is unavailable; retry later.',
  [ErrorCode.internal]: '500: an unexpected error; the body carries only the request id to quote when reporting it.',
};

export const ALL_ERROR_CODES = Object.keys(ERROR_CODE_DOCS) as (ErrorCode | GatewayErrorCode)[];
