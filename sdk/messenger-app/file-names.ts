/**
 * An attachment's file name travels inside the end-to-end-encrypted pointer as a MIME `name`
 * parameter of its content type (`application/pdf; name="lab-results.pdf"`): the pointer's schema
 * has no name field, and the content type is the one free-text field it has (≤ 128 characters).
 * Names are sanitized both ways — they come from another person's device and end up in a
 * Content-Disposition header and a download dialog.
 */
import type { AttachmentPointer } from '../content.ts';

const MAX_CONTENT_TYPE = 128;
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,30}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,40}$/;
const FALLBACK_TYPE = 'application/octet-stream';
const FALLBACK_NAME = 'attachment';

/** Printable, no path separators, quotes or control characters, no leading dots; never empty. */
export function safeFileName(raw: string, maxChars = 100): string {
  const cleaned = raw
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}"\\/:*?<>|;]/gu, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  let out = '';
  for (const ch of cleaned) {
    if (out.length + ch.length > maxChars) break;
    out += ch;
  }
  return out === '' ? FALLBACK_NAME : out;
}

export function safeMime(raw: string | undefined): string {
  const t = (raw ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return MIME.test(t) ? t : FALLBACK_TYPE;
}

/** The pointer's contentType for a file `name` of type `mime`. */
export function encodeContentType(mime: string | undefined, name: string): string {
  const type = safeMime(mime);
  const budget = MAX_CONTENT_TYPE - type.length - '; name=""'.length;
  return `${type}; name="${safeFileName(name, budget)}"`;
}

export function describeAttachment(p: AttachmentPointer): { name: string; size: number | null; contentType: string } {
  const ct = p.contentType ?? '';
  const match = /;\s*name="([^"]*)"/.exec(ct);
  return { name: safeFileName(match?.[1] ?? FALLBACK_NAME), size: p.size ?? null, contentType: safeMime(ct) };
}
