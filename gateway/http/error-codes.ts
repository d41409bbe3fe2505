/**
 * Error codes the HTTP layer adds to core's ErrorCode vocabulary, and the full list a client can
 * receive from the skeleton (documented in the OpenAPI ErrorResponse schema).
 */
import { ErrorCode } from '../../core/errors.ts';

export const GatewayErrorCode = {
  httpsRequired: 'https_required',
  // identity and access (gateway/auth, gateway/access, gateway/visits)
  sessionInvalid: 'session_invalid',
  csrfFailed: 'csrf_failed',
  invalidCredentials: 'invalid_credentials',
  invalidCode: 'invalid_code',
  challengeInvalid: 'challenge_invalid',
  tooManyAttempts: 'too_many_attempts',
  patientErased: 'patient_erased',
  linkInvalid: 'link_invalid',
  linkUsed: 'link_used',
  linkRevoked: 'link_revoked',
  linkExpired: 'link_expired',
  linkNotYetValid: 'link_not_yet_valid',
  appointmentCancelled: 'appointment_cancelled',
  appointmentEnded: 'appointment_ended',
  appointmentCompleted: 'appointment_completed',
  codeInvalid: 'code_invalid',
  codeAlreadyUsed: 'code_already_used',
  alreadyReviewed: 'already_reviewed',
  ownGrant: 'own_grant',
} as const;
export type GatewayErrorCode = (typeof GatewayErrorCode)[keyof typeof GatewayErrorCode];

/** When each code is returned; rendered into the OpenAPI document and the docs page. */
export const ERROR_CODE_DOCS: Readonly<Record<ErrorCode | GatewayErrorCode, string>> = {
  [ErrorCode.badRequest]: '400: the request could not be understood.',
  [ErrorCode.validation]: '400: input failed schema validation; `fields` lists each offending location (`body.email`, `query.limit`, `params.id`).',
  [ErrorCode.malformedJson]: '400: the body declared JSON but is not valid JSON.',
  [ErrorCode.payloadTooLarge]: '413: the body exceeds BODY_LIMIT_BYTES (checked on Content-Length and while streaming chunked bodies).',
  [ErrorCode.unsupportedMediaType]: '415: a body was sent without a Content-Type, or with one the operation does not accept.',
  [ErrorCode.unauthorized]: '401: no credential was sent: sign in (cookie) or send `Authorization: Bearer <token>`.',
  [GatewayErrorCode.sessionInvalid]: '401: the session ended (logout, automatic logoff, revoked) or the token is not valid; sign in again.',
  [GatewayErrorCode.invalidCredentials]: '401: sign-in or re-authentication failed (the same answer whether or not the account exists).',
  [GatewayErrorCode.invalidCode]: '401: the TOTP or recovery code is wrong or was already used.',
  [GatewayErrorCode.challengeInvalid]: '401: the sign-in challenge expired or was used up; start again with the password.',
  [GatewayErrorCode.csrfFailed]: '403: a cookie-authenticated write without the session’s X-CSRF-Token, or from an origin that is not allowed.',
  [GatewayErrorCode.tooManyAttempts]: '429: too many failed attempts from this account or address; wait for Retry-After.',
  [GatewayErrorCode.patientErased]: '410: the patient record was crypto-shredded; nothing can be read or changed.',
  [GatewayErrorCode.linkInvalid]: '404: this visit link is not valid; ask the clinic for a new one.',
  [GatewayErrorCode.linkUsed]: '410: this visit link was already used; ask the clinic for a new one.',
  [GatewayErrorCode.linkRevoked]: '410: the clinic withdrew this visit link.',
  [GatewayErrorCode.linkExpired]: '410: the visit this link was for is over.',
  [GatewayErrorCode.linkNotYetValid]: '403: the visit link opens shortly before the visit; `opensAt` says when.',
  [GatewayErrorCode.appointmentCancelled]: '409/410: the appointment was cancelled.',
  [GatewayErrorCode.appointmentEnded]: '409: the appointment is already over.',
  [GatewayErrorCode.appointmentCompleted]: '409: a completed appointment cannot be cancelled.',
  [GatewayErrorCode.codeInvalid]: '400: the enrollment code is not valid (unknown, used, expired or withdrawn); ask the clinic for a new one.',
  [GatewayErrorCode.codeAlreadyUsed]: '409: the enrollment code was already redeemed.',
  [GatewayErrorCode.alreadyReviewed]: '409: this break-glass grant already has a review outcome.',
  [GatewayErrorCode.ownGrant]: '409: privacy officers cannot review their own break-glass grant.',
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
