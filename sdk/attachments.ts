/**
 * Encrypted attachments. The sender encrypts the bytes with a fresh AES-256-GCM key, uploads
 * only the ciphertext (POST /v1/attachments) and puts the pointer — id, key, SHA-256 digest of
 * the ciphertext — inside the end-to-end-encrypted message; the gateway never sees the key. The
 * recipient downloads by id, checks the digest, then decrypts (which also authenticates).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AttachmentCreated } from '../core/protocol/messaging.ts';
import type { AttachmentPointer } from './content.ts';
import { SdkError, SdkErrorCode } from './errors.ts';
import { gatewayError, type HttpOptions } from './http-client.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const OCTETS = 'application/octet-stream';

/** iv ‖ ciphertext ‖ tag under a fresh key; returns the blob and the key. */
function seal(plaintext: Uint8Array): { blob: Buffer; key: Buffer } {
  const key = randomBytes(32);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { blob: Buffer.concat([iv, body, cipher.getAuthTag()]), key };
}

function open(blob: Buffer, key: Buffer): Buffer {
  if (blob.length < IV_BYTES + TAG_BYTES) throw new SdkError(SdkErrorCode.attachmentTampered, 'the attachment is too short to be one');
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, IV_BYTES));
  decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(blob.subarray(IV_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
  } catch (err) {
    throw new SdkError(SdkErrorCode.attachmentTampered, 'the attachment does not decrypt with its key', { cause: err });
  }
}

async function call(opts: HttpOptions, method: 'POST' | 'GET', path: string, body?: Buffer): Promise<Response> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  if (body !== undefined) headers['content-type'] = OCTETS;
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(new URL(path, opts.baseUrl), { method, headers, body: body === undefined ? null : new Uint8Array(body), signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000) });
  } catch (err) {
    throw new SdkError(SdkErrorCode.network, `cannot reach the gateway (${method} ${path.split('/').slice(0, 3).join('/')})`, { cause: err });
  }
  if (!res.ok) {
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined; // not JSON: gatewayError reports the bare status
    }
    throw gatewayError(res.status, body);
  }
  return res;
}

/** Encrypts and uploads; the pointer goes into the message (sendText's `attachments`). */
export async function uploadAttachment(opts: HttpOptions, plaintext: Uint8Array, meta: { readonly contentType?: string } = {}): Promise<AttachmentPointer> {
  const { blob, key } = seal(plaintext);
  const res = await call(opts, 'POST', '/v1/attachments', blob);
  const created = AttachmentCreated.safeParse(await res.json());
  if (!created.success) throw new SdkError(SdkErrorCode.invalidResponse, 'unexpected response from POST /v1/attachments', { status: res.status, cause: created.error });
  return {
    id: created.data.id,
    key: key.toString('base64'),
    digest: createHash('sha256').update(blob).digest('base64'),
    size: plaintext.byteLength,
    ...(meta.contentType === undefined ? {} : { contentType: meta.contentType }),
  };
}

/** Downloads, checks the digest, decrypts. Throws `attachment_tampered` on any mismatch. */
export async function downloadAttachment(opts: HttpOptions, pointer: AttachmentPointer): Promise<Buffer> {
  const res = await call(opts, 'GET', `/v1/attachments/${pointer.id}`);
  const blob = Buffer.from(await res.arrayBuffer());
  const digest = createHash('sha256').update(blob).digest();
  const expected = Buffer.from(pointer.digest, 'base64');
  if (expected.length !== digest.length || !timingSafeEqual(digest, expected)) throw new SdkError(SdkErrorCode.attachmentTampered, 'the attachment does not match the digest in its message');
  return open(blob, Buffer.from(pointer.key, 'base64'));
}
