/**
 * pino JSON logs with redaction of every field name that can carry PHI or a secret. Callers log
 * ids and route patterns, never request bodies; redaction is the safety net, not the plan.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Field names whose values never reach a log line, at any of the first three depths. */
export const REDACTED_FIELDS = [
  'password', 'newPassword', 'currentPassword', 'passwordHash', 'token', 'accessToken', 'refreshToken', 'sessionToken',
  'secret', 'totp', 'totpSecret', 'code', 'recoveryCode', 'authorization', 'cookie', 'set-cookie', 'apiKey', 'privateKey',
  'masterKey', 'dataKey', 'name', 'firstName', 'lastName', 'fullName', 'givenName', 'familyName', 'dob', 'dateOfBirth',
  'birthDate', 'email', 'phone', 'phoneNumber', 'address', 'mrn', 'ssn', 'body', 'text', 'detail', 'plaintext', 'ciphertext',
  'diagnosis', 'notes', 'To', 'From', 'Body',
] as const;

function paths(): string[] {
  const out: string[] = [];
  for (const f of REDACTED_FIELDS) {
    const key = /^[A-Za-z_$][\w$]*$/.test(f) ? f : `["${f}"]`;
    const join = (prefix: string) => (key.startsWith('[') ? `${prefix}${key}` : `${prefix}.${key}`);
    out.push(key.startsWith('[') ? key.slice(2, -2) : key, join('*'), join('*.*'), join('req.headers'));
  }
  return out;
}

export interface LoggerOptions {
  readonly level: LevelWithSilent;
  readonly name?: string;
  /** Where to write; default stdout. Tests pass a stream to inspect lines. */
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      // `service`, not pino's `name`: `name` is a redacted PHI field name.
      base: { pid: process.pid, ...(opts.name ? { service: opts.name } : {}) },
      redact: { paths: paths(), censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? process.stdout,
  );
}
