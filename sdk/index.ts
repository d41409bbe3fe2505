/**
 * Public API of the telehealth client SDK: sign in, keep an encrypted local store, register a
 * device, and exchange end-to-end-encrypted messages (libsignal, PQXDH) through the gateway.
 */
import type { LocalStore } from './local-store.ts';
import { createMessagingHttp, type HttpOptions } from './http-client.ts';
import { Messenger } from './messenger.ts';
import type { MessagingTransport } from './transport.ts';
import { openMessageStream } from './ws-client.ts';

export { redeemEnrollmentCode, signInStaff, signOut, type SignedIn } from './auth-client.ts';
export { DeviceCipher, type EncryptedForDevice, type SafetyNumber } from './cipher.ts';
export { downloadAttachment, uploadAttachment } from './attachments.ts';
export { AttachmentPointer, Content, decodeContent, encodeContent, pad, PAD_BLOCK, unpad, type ReceiptKind, type TextContent } from './content.ts';
export { createDeviceKeys, replenishKeys, setDeviceId } from './device-keys.ts';
export { SdkError, SdkErrorCode } from './errors.ts';
export { createMessagingHttp, deviceMismatchOf, type HttpOptions } from './http-client.ts';
export { LocalStore, STORE_FILE, type HistoryEntry, type StoreKey, type StoreState } from './local-store.ts';
export { Messenger, type MessengerEvents, type MessengerOptions, type Sender } from './messenger.ts';
export type { IdentityChangeNotice } from './signal-stores.ts';
export type { DeviceMismatchDetails, MessageStream, MessagingHttp, MessagingTransport, StreamHandlers } from './transport.ts';
export { openMessageStream, type WsOptions } from './ws-client.ts';

/** The real transport: HTTP + WebSocket against a gateway, with a bearer session token. */
export function createGatewayTransport(opts: HttpOptions & { readonly token: string }): MessagingTransport {
  return {
    ...createMessagingHttp(opts),
    subscribe: (deviceId, handlers) => openMessageStream({ baseUrl: opts.baseUrl, token: opts.token }, deviceId, handlers),
  };
}

/** Convenience: a Messenger over the real gateway transport. */
export function connectMessenger(store: LocalStore, opts: HttpOptions & { readonly token: string; readonly deliveryReceipts?: boolean }): Messenger {
  return new Messenger({ store, transport: createGatewayTransport(opts), ...(opts.deliveryReceipts === undefined ? {} : { deliveryReceipts: opts.deliveryReceipts }) });
}
