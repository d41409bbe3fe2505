/**
 * Identifier checks shared by every store. Ids reach uuid columns: a malformed one must be
 * answered as "not found" by the caller, not surface as an engine-specific SQL error (500).
 */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}
