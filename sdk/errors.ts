/**
 * The SDK's typed error. The SDK may import nothing of the server (DESIGN.md §2), so it has its
 * own error class: a stable `code` callers branch on, the HTTP `status` when the gateway answered,
 * and the gateway's client-safe error `details` (e.g. a device mismatch). Messages hold no PHI.
 */
export const SdkErrorCode = {
  /** The local store could not be decrypted: wrong passphrase/key, or the file was altered. */
  storeLocked: 'store_locked',
  storeNotFound: 'store_not_found',
  storeExists: 'store_exists',
  storeCorrupt: 'store_corrupt',
  /** Another process holds the local store. */
  storeBusy: 'store_busy',
  storeClosed: 'store_closed',
  notRegistered: 'not_registered',
  alreadyRegistered: 'already_registered',
  /** A peer's identity key changed after the user marked it verified: re-verify before sending. */
  untrustedIdentity: 'untrusted_identity',
  decryptFailed: 'decrypt_failed',
  invalidContent: 'invalid_content',
  /** A downloaded attachment does not match the digest its pointer carries. */
  attachmentTampered: 'attachment_tampered',
  invalidResponse: 'invalid_response',
  network: 'network_error',
  sendFailed: 'send_failed',
  sessionEnded: 'session_ended',
} as const;
export type SdkErrorCode = (typeof SdkErrorCode)[keyof typeof SdkErrorCode];

export class SdkError extends Error {
  /** An SdkErrorCode, or the gateway's error code when `status` is set. */
  readonly code: string;
  readonly status: number | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options?: { status?: number; details?: Readonly<Record<string, unknown>>; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SdkError';
    this.code = code;
    this.status = options?.status;
    this.details = options?.details;
  }
}
