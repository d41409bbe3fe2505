/**
 * The end-to-end-encrypted plaintext: what goes inside a libsignal message. Versioned JSON (the
 * server never sees it), validated with zod on the way in, and padded to a multiple of
 * PAD_BLOCK bytes before encryption so ciphertext lengths say less about what was written.
 * Padding is Signal's: the content, one 0x80 byte, then zeros.
 */
import { z } from 'zod';
import { b64, UserId } from '../core/protocol/messaging.ts';
import { SdkError, SdkErrorCode } from './errors.ts';

export const CONTENT_VERSION = 1;
export const PAD_BLOCK = 160;
export const MAX_TEXT_CHARS = 16_000;

/** Where an encrypted attachment lives on the gateway, and what decrypts and checks it. */
export const AttachmentPointer = z.strictObject({
  id: z.uuid(),
  /** The attachment's own symmetric key(s), chosen by the sender. */
  key: b64(64),
  /** SHA-256 of the encrypted bytes as uploaded. */
  digest: b64(32),
  size: z.number().int().min(0).optional(),
  contentType: z.string().max(128).optional(),
});
export type AttachmentPointer = z.infer<typeof AttachmentPointer>;

const ClientId = z.uuid();

export const TextContent = z.strictObject({
  v: z.literal(CONTENT_VERSION),
  kind: z.literal('text'),
  /** The sender's id for this message: receipts and de-duplication refer to it. */
  clientId: ClientId,
  /** Sender's clock, ms since epoch. */
  sentAt: z.number().int().min(0),
  text: z.string().max(MAX_TEXT_CHARS),
  attachments: z.array(AttachmentPointer).max(16).default([]),
});
export type TextContent = z.infer<typeof TextContent>;

export const ReceiptKind = { delivered: 'delivered', read: 'read' } as const;
export type ReceiptKind = (typeof ReceiptKind)[keyof typeof ReceiptKind];

export const ReceiptContent = z.strictObject({
  v: z.literal(CONTENT_VERSION),
  kind: z.literal('receipt'),
  receipt: z.enum([ReceiptKind.delivered, ReceiptKind.read]),
  clientIds: z.array(ClientId).min(1).max(100),
  sentAt: z.number().int().min(0),
});
export type ReceiptContent = z.infer<typeof ReceiptContent>;

/** A copy of what this account sent to `to`, for the sender's own other devices. */
export const SentCopyContent = z.strictObject({
  v: z.literal(CONTENT_VERSION),
  kind: z.literal('sent'),
  to: UserId,
  message: TextContent,
});
export type SentCopyContent = z.infer<typeof SentCopyContent>;

export const Content = z.discriminatedUnion('kind', [TextContent, ReceiptContent, SentCopyContent]);
export type Content = z.infer<typeof Content>;
export type ContentInput = z.input<typeof Content>;

export function pad(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const size = Math.ceil((data.length + 1) / PAD_BLOCK) * PAD_BLOCK;
  const out = new Uint8Array(size);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

export function unpad(data: Uint8Array): Uint8Array {
  let i = data.length - 1;
  while (i >= 0 && data[i] === 0) i--;
  if (i < 0 || data[i] !== 0x80) throw new SdkError(SdkErrorCode.invalidContent, 'message padding is invalid');
  return data.subarray(0, i);
}

/** Validate, serialize and pad: the bytes to hand to libsignal. */
export function encodeContent(content: ContentInput): Uint8Array<ArrayBuffer> {
  const parsed = Content.parse(content);
  return pad(Buffer.from(JSON.stringify(parsed), 'utf8'));
}

/** Unpad, parse and validate decrypted bytes; throws SdkError(invalid_content). */
export function decodeContent(bytes: Uint8Array): Content {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(unpad(bytes)).toString('utf8'));
  } catch (err) {
    if (err instanceof SdkError) throw err;
    throw new SdkError(SdkErrorCode.invalidContent, 'message content is not JSON', { cause: err });
  }
  const result = Content.safeParse(json);
  if (!result.success) throw new SdkError(SdkErrorCode.invalidContent, 'message content has an unknown version or shape', { cause: result.error });
  return result.data;
}
