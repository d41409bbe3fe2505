/**
 * Error codes the messaging relay, delivery and attachments can answer with, and when; merged
 * into gateway/http/error-codes.ts (ERROR_CODE_DOCS) and so into the OpenAPI document.
 */
import { MessagingErrorCode } from '../../core/protocol/messaging.ts';
import { DeliveryErrorCode } from './delivery.ts';

export const RelayErrorCode = {
  /** `senderDevice` is not a device of the signed-in account. */
  invalidSenderDevice: 'invalid_sender_device',
} as const;
export type RelayErrorCode = (typeof RelayErrorCode)[keyof typeof RelayErrorCode];

export const MESSAGING_ERROR_DOCS: Readonly<Record<string, string>> = {
  [MessagingErrorCode.deviceMismatch]:
    '409: the addressed devices differ from the recipient’s current ones; `missingDevices`, `extraDevices` and `staleDevices` (re-registered: fetch a new bundle) say how.',
  [MessagingErrorCode.envelopeTooLarge]: '413: one envelope’s decoded content exceeds ENVELOPE_MAX_BYTES.',
  [MessagingErrorCode.deviceNotFound]: '404: the device id is not one of the signed-in account’s devices.',
  [RelayErrorCode.invalidSenderDevice]: '403: `senderDevice` is not one of the signed-in account’s devices.',
  [DeliveryErrorCode.alreadySubscribed]: 'WebSocket error frame: this socket already receives as a device.',
  [DeliveryErrorCode.notSubscribed]: 'WebSocket error frame: `messages.ack` before `messages.subscribe`.',
};

export const MESSAGING_ERROR_CODES = Object.keys(MESSAGING_ERROR_DOCS);
