/**
 * Files the page has uploaded (encrypted, ciphertext on the gateway) but not sent yet: the
 * pointer — with the file's key — stays in this process's memory only, under a random upload id,
 * until a message carries it, an hour passes, or the session ends. Bounded in number.
 */
import { randomUUID } from 'node:crypto';
import type { AttachmentPointer } from '../content.ts';
import { LocalApiError, LocalErrorCode } from './errors.ts';

const DEFAULT_TTL_MS = 60 * 60_000;
const MAX_PENDING = 50;

export class PendingUploads {
  readonly #ttlMs: number;
  readonly #byId = new Map<string, { readonly pointer: AttachmentPointer; readonly at: number }>();

  constructor(ttlMs = DEFAULT_TTL_MS) {
    this.#ttlMs = ttlMs;
  }

  /** Throws 429 when too many wait already (checked before the upload, so nothing is wasted). */
  reserve(): void {
    const cutoff = Date.now() - this.#ttlMs;
    for (const [id, u] of this.#byId) if (u.at < cutoff) this.#byId.delete(id);
    if (this.#byId.size >= MAX_PENDING) throw new LocalApiError(429, LocalErrorCode.rateLimited, 'Too many files are waiting to be sent. Send them, or wait an hour, then try again.');
  }

  add(pointer: AttachmentPointer): string {
    const id = randomUUID();
    this.#byId.set(id, { pointer, at: Date.now() });
    return id;
  }

  /** The pointers for `ids`, in order; 404 when one expired or was sent already. */
  get(ids: readonly string[]): AttachmentPointer[] {
    return ids.map((id) => {
      const u = this.#byId.get(id);
      if (u === undefined || u.at < Date.now() - this.#ttlMs) throw new LocalApiError(404, LocalErrorCode.notFound, 'An attached file is no longer available (it expired or was sent). Attach it again.');
      return u.pointer;
    });
  }

  discard(ids: readonly string[]): void {
    for (const id of ids) this.#byId.delete(id);
  }

  clear(): void {
    this.#byId.clear();
  }
}

/** `size` undefined: the upload was cut off at the limit, its real size is unknown. */
export function tooLarge(size: number | undefined, limit: number): LocalApiError {
  const what = size === undefined ? 'The file is too large' : `The file is ${formatBytes(size)}`;
  return new LocalApiError(413, LocalErrorCode.attachmentTooLarge, `${what}; files may be at most ${formatBytes(limit)}. Send a smaller file (or split it).`);
}

function formatBytes(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)} MB`;
  return n >= 1_000 ? `${Math.round(n / 1_000)} KB` : `${n} bytes`;
}
