/**
 * Checks an audit entry's `details` object: bounded size and shape, JSON that round-trips exactly
 * through jsonb on both engines (so the stored row still hashes to what was hashed at append), and
 * no PHI-shaped keys. Details are meant for ids, counts and reason classes; a key that names a
 * person's data or free text is refused so PHI cannot slip into a log that is kept forever.
 */

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type AuditDetails = { readonly [key: string]: JsonValue };

export const DETAILS_LIMITS = {
  /** Canonical JSON size of the whole object, in UTF-8 bytes. */
  maxBytes: 4096,
  maxDepth: 4,
  maxKeys: 64,
  maxArrayItems: 100,
  maxStringLength: 512,
} as const;

const KEY_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

// Compared after lower-casing and removing `_`, so `first_name`, `firstName` and `FIRSTNAME` match alike.
const PHI_KEYS_EXACT = new Set([
  'name', 'dob', 'ssn', 'mrn', 'zip', 'zipcode', 'postcode', 'postalcode', 'street', 'city', 'diagnosis',
  'body', 'text', 'message', 'note', 'notes', 'comment', 'comments', 'content', 'plaintext', 'subject',
]);
const PHI_KEY_PARTS = [
  'firstname', 'lastname', 'fullname', 'givenname', 'familyname', 'middlename', 'maidenname', 'patientname', 'displayname',
  'email', 'phone', 'mobile', 'birth', 'address', 'socialsecurity', 'medicalrecord', 'password', 'passphrase', 'secret', 'token',
];

/** True when a details key looks like it names PHI, free text or a secret. */
export function isPhiShapedKey(key: string): boolean {
  const k = key.toLowerCase().replaceAll('_', '');
  return PHI_KEYS_EXACT.has(k) || PHI_KEY_PARTS.some((p) => k.includes(p));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Problems found in `value`, as `path: reason` strings that never quote a value (it could be PHI).
 * Empty when the value is acceptable.
 */
export function checkDetails(value: unknown, path = 'details'): string[] {
  const problems: string[] = [];
  if (!isPlainObject(value)) return [`${path}: expected a plain JSON object`];
  walk(value, path, 1, problems);
  if (problems.length === 0) {
    // Only measured once the shape is known to be plain JSON.
    const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
    if (bytes > DETAILS_LIMITS.maxBytes) problems.push(`${path}: ${bytes} bytes, at most ${DETAILS_LIMITS.maxBytes} allowed`);
  }
  return problems;
}

function walk(v: unknown, path: string, depth: number, problems: string[]): void {
  if (problems.length >= 10) return; // enough to fix; do not build a huge message
  if (v === null || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) problems.push(`${path}: numbers must be finite`);
    return;
  }
  if (typeof v === 'string') {
    if (v.length > DETAILS_LIMITS.maxStringLength) problems.push(`${path}: string longer than ${DETAILS_LIMITS.maxStringLength}`);
    // PostgreSQL cannot store U+0000 in jsonb, and lone surrogates do not survive UTF-8.
    else if (v.includes('\u0000') || !v.isWellFormed()) problems.push(`${path}: string contains NUL or an unpaired surrogate`);
    return;
  }
  if (depth > DETAILS_LIMITS.maxDepth) {
    problems.push(`${path}: nested deeper than ${DETAILS_LIMITS.maxDepth} levels`);
    return;
  }
  if (Array.isArray(v)) {
    if (v.length > DETAILS_LIMITS.maxArrayItems) problems.push(`${path}: more than ${DETAILS_LIMITS.maxArrayItems} items`);
    else v.forEach((item, i) => walk(item, `${path}[${i}]`, depth + 1, problems));
    return;
  }
  if (!isPlainObject(v)) {
    // Dates, Maps, class instances: JSON would silently reshape them and the hash would not round-trip.
    problems.push(`${path}: only strings, finite numbers, booleans, null, arrays and plain objects are allowed`);
    return;
  }
  const keys = Object.keys(v);
  if (keys.length > DETAILS_LIMITS.maxKeys) {
    problems.push(`${path}: more than ${DETAILS_LIMITS.maxKeys} keys`);
    return;
  }
  for (const key of keys) {
    const at = `${path}.${key.slice(0, 64)}`;
    if (!KEY_RE.test(key)) problems.push(`${path}: key must match ${KEY_RE.source}`);
    else if (isPhiShapedKey(key)) problems.push(`${at}: key looks like PHI, free text or a secret; record ids, counts or reason codes instead`);
    else if (v[key] === undefined) problems.push(`${at}: undefined is not JSON; omit the key or use null`);
    else walk(v[key], at, depth + 1, problems);
  }
}
