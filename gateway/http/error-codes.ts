/**
 * Error codes the HTTP layer adds to core's ErrorCode vocabulary, and the full list a client can
 * receive from the skeleton (documented in the OpenAPI ErrorResponse schema).
 */
import { AppointmentErrorCode } from '../../core/appointments/store.ts';
import { ErrorCode } from '../../core/errors.ts';
import { BreakGlassErrorCode } from '../access/break-glass.ts';
import { EnrollmentErrorCode } from '../auth/enrollment.ts';
import { AuthErrorCode } from '../auth/session-middleware.ts';
import { StaffLoginError } from '../auth/staff-login.ts';
import { KEY_ERROR_CODE_DOCS } from '../keys/error-codes.ts';
import { MESSAGING_ERROR_DOCS } from '../messaging/error-codes.ts';
import { TEMPLATE_ERROR_DOCS } from '../../core/reminders/templates.ts';
import { VisitLinkErrorCode } from '../visits/visit-links.ts';

export const GatewayErrorCode = {
  httpsRequired: 'https_required',
} as const;
export type GatewayErrorCode = (typeof GatewayErrorCode)[keyof typeof GatewayErrorCode];

/** When each code is returned; rendered into the OpenAPI document and the docs page. */
export const ERROR_CODE_DOCS: Readonly<Record<string, string>> = {
  [ErrorCode.badRequest]: '400: the request could not be understood.',
  [ErrorCode.validation]: '400: input failed schema validation; `fields` lists each offending location (`body.email`, `query.limit`, `params.id`).',
  [ErrorCode.malformedJson]: '400: the body declared JSON but is not valid JSON.',
  [ErrorCode.payloadTooLarge]:
    '413: the body exceeds BODY_LIMIT_BYTES (checked on Content-Length and while streaming chunked bodies); for attachments ATTACHMENT_MAX_BYTES, for a send batch MESSAGE_BATCH_MAX_BYTES of decoded envelopes.',
  [ErrorCode.unsupportedMediaType]: '415: a body was sent without a Content-Type, or with one the operation does not accept.',
  [StaffLoginError.mfaNotEnrolled]: '401: the account has no authenticator yet; sign in again to enroll one.',
  [ErrorCode.unauthorized]: '401: no credential was sent: sign in (cookie) or send `Authorization: Bearer <token>`.',
  [AuthErrorCode.sessionInvalid]: '401: the session ended (logout, automatic logoff, revoked) or the token is not valid; sign in again.',
  [StaffLoginError.invalidCredentials]: '401: sign-in or re-authentication failed (the same answer whether or not the account exists).',
  [StaffLoginError.invalidCode]: '401: the TOTP or recovery code is wrong or was already used.',
  [StaffLoginError.challengeInvalid]: '401: the sign-in challenge expired or was used up; start again with the password.',
  [AuthErrorCode.csrfFailed]: '403: a cookie-authenticated write without the session’s X-CSRF-Token, or from an origin that is not allowed.',
  [StaffLoginError.tooManyAttempts]: '429: too many failed attempts from this account or address; wait for Retry-After.',
  [BreakGlassErrorCode.patientErased]: '410: the patient record was crypto-shredded; nothing can be read or changed.',
  [VisitLinkErrorCode.linkInvalid]: '404: this visit link is not valid; ask the clinic for a new one.',
  [VisitLinkErrorCode.linkUsed]: '410: this visit link was already used; ask the clinic for a new one.',
  [VisitLinkErrorCode.linkRevoked]: '410: the clinic withdrew this visit link.',
  [VisitLinkErrorCode.linkExpired]: '410: the visit this link was for is over.',
  [VisitLinkErrorCode.linkNotYetValid]: '403: the visit link opens shortly before the visit; `opensAt` says when.',
  [VisitLinkErrorCode.appointmentCancelled]: '409/410: the appointment was cancelled.',
  [VisitLinkErrorCode.appointmentEnded]: '409: the appointment is already over.',
  [AppointmentErrorCode.completed]: '409: a completed appointment cannot be cancelled.',
  [EnrollmentErrorCode.codeInvalid]: '400: the enrollment code is not valid (unknown, used, expired or withdrawn); ask the clinic for a new one.',
  [EnrollmentErrorCode.codeUsed]: '409: the enrollment code was already redeemed.',
  [BreakGlassErrorCode.alreadyReviewed]: '409: this break-glass grant already has a review outcome.',
  [BreakGlassErrorCode.ownGrant]: '409: privacy officers cannot review their own break-glass grant.',
  [ErrorCode.forbidden]: '403: authenticated but not allowed.',
  [GatewayErrorCode.httpsRequired]: '403: behind a trusted proxy, the request reached the proxy over plain HTTP.',
  [ErrorCode.notFound]: '404: no such route (or resource).',
  [ErrorCode.methodNotAllowed]: '405: the route exists but not for this method.',
  [ErrorCode.conflict]: '409: the request conflicts with the current state.',
  [ErrorCode.rateLimited]: '429: too many requests.',
  [ErrorCode.unavailable]: '503: a dependency is unavailable; retry later.',
  [ErrorCode.internal]: '500: an unexpected error; the body carries only the request id to quote when reporting it.',
  ...KEY_ERROR_CODE_DOCS,
  ...MESSAGING_ERROR_DOCS,
  ...TEMPLATE_ERROR_DOCS,
  template_not_found: '422: no such template version for this channel; save the template first.',
};

export const ALL_ERROR_CODES = Object.keys(ERROR_CODE_DOCS) as [string, ...string[]];
