/**
 * Why a backup operation refused or failed, as a closed vocabulary, and the one error type that
 * carries it. Messages name files, chunk numbers, table names and counts — never row contents or
 * key bytes — and the hint says what the operator can do about it.
 */

export const BackupProblem = {
  /** The backup file does not exist or cannot be read. */
  unreadable: 'unreadable',
  /** The file does not start with the backup magic: not a backup at all. */
  notABackup: 'not_a_backup',
  /** A backup written by a format this build does not read. */
  unsupportedFormat: 'unsupported_format',
  /** The header's own checksum fails: the first bytes of the file are damaged. */
  headerCorrupted: 'header_corrupted',
  /** The key's check value does not match the header: another backup's key, or not a backup key. */
  wrongKey: 'wrong_key',
  /** A chunk fails authentication (flipped bytes, reordered or spliced chunks). */
  chunkCorrupted: 'chunk_corrupted',
  /** The file ends before its final chunk. */
  truncated: 'truncated',
  /** Bytes after the final chunk. */
  trailingData: 'trailing_data',
  /** The decrypted archive is not what this format says (should not happen without a bug). */
  archiveInvalid: 'archive_invalid',
  /** The key file is missing, unreadable, malformed or readable by others. */
  keyFile: 'key_file',
  /** The output file (or key file) exists: a backup never overwrites. */
  exists: 'exists',
  /** The target database already holds data. */
  targetNotEmpty: 'target_not_empty',
  /** The target's or the backup's migrations do not match this build. */
  schemaMismatch: 'schema_mismatch',
  /** The source database has no schema to back up. */
  noSchema: 'no_schema',
} as const;
export type BackupProblem = (typeof BackupProblem)[keyof typeof BackupProblem];

export class BackupError extends Error {
  readonly problem: BackupProblem;
  readonly hint: string | undefined;
  /** For chunk problems: the 0-based index of the chunk that failed. */
  readonly chunk: number | undefined;

  constructor(problem: BackupProblem, message: string, opts: { hint?: string; chunk?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BackupError';
    this.problem = problem;
    this.hint = opts.hint;
    this.chunk = opts.chunk;
  }
}
