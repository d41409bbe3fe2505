/**
 * Error codes the device registry and key directory answer with, and when; merged into
 * gateway/http/error-codes.ts (ERROR_CODE_DOCS) and so into the OpenAPI document.
 */
import { MessagingErrorCode } from '../../core/protocol/messaging.ts';

export const KEY_ERROR_CODE_DOCS: Readonly<Record<string, string>> = {
  [MessagingErrorCode.deviceLimit]: '409: the account already has MAX_DEVICES_PER_ACCOUNT devices; remove one first.',
  [MessagingErrorCode.deviceNotFound]: '404: the session’s account has no device with this id.',
  [MessagingErrorCode.invalidKey]: '400: a public key is not canonical base64 of a libsignal key of the right type and length; the message names it.',
  [MessagingErrorCode.invalidSignature]: '400: a prekey signature does not verify against the identity key; the message names the key.',
  [MessagingErrorCode.identityKeyChanged]: '400: the upload’s identity key is not the device’s; remove the device and register it again.',
};
