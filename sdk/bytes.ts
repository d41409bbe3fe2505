/**
 * Base64 <-> bytes for the wire (standard alphabet, padded, as core/protocol expects). Returns
 * plain `Uint8Array<ArrayBuffer>` copies, the type libsignal's API asks for.
 */
export function toB64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function fromB64(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}
