/**
 * The backup key: 32 random bytes, kept in its own file (one line, `thbk1:` + base64), never in
 * the backup. From it and each backup's random salt, HKDF-SHA256 derives that file's AES-256-GCM
 * key and a 16-byte check value stored in the header, so a wrong key is told apart from damage
 * without trying to decrypt anything. Reusing one key file for many backups is safe: every backup
 * gets its own salt, hence its own encryption key.
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { hkdfSync, randomBytes } from 'node:crypto';
import { BackupError, BackupProblem } from './errors.ts';

export const BACKUP_KEY_BYTES = 32;
const PREFIX = 'thbk1:';

export interface BackupKey {
  readonly raw: Buffer;
}

export function generateBackupKey(): BackupKey {
  return { raw: randomBytes(BACKUP_KEY_BYTES) };
}

function derive(key: BackupKey, salt: Buffer, info: string, bytes: number): Buffer {
  return Buffer.from(hkdfSync('sha256', key.raw, salt, info, bytes));
}

/** The AES-256-GCM key of the backup with this salt. */
export function chunkKey(key: BackupKey, salt: Buffer): Buffer {
  return derive(key, salt, 'telehealth-backup v1 chunk key', 32);
}

/** Stored in the header: proves (to the key holder only) that this key made this backup. */
export function keyCheck(key: BackupKey, salt: Buffer): Buffer {
  return derive(key, salt, 'telehealth-backup v1 key check', 16);
}

function errCode(err: unknown): string {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : 'error';
}

export function parseBackupKey(text: string): BackupKey | null {
  const line = text.trim();
  if (!line.startsWith(PREFIX)) return null;
  const b64 = line.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]{43}=$/.test(b64)) return null;
  const raw = Buffer.from(b64, 'base64');
  return raw.length === BACKUP_KEY_BYTES ? { raw } : null;
}

export function formatBackupKey(key: BackupKey): string {
  return `${PREFIX}${key.raw.toString('base64')}\n`;
}

/** The key in `file`, or null when there is no such file. Refuses a file others can read. */
export function readBackupKeyFile(file: string): BackupKey | null {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new BackupError(BackupProblem.keyFile, `backup key ${file} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new BackupError(BackupProblem.keyFile, `backup key ${file} is accessible by other users (mode ${(st.mode & 0o777).toString(8)})`, {
        hint: `Restrict it to its owner: chmod 600 ${file}`,
      });
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof BackupError) throw err;
    if (errCode(err) === 'ENOENT') return null;
    throw new BackupError(BackupProblem.keyFile, `cannot read backup key ${file} (${errCode(err)})`, { cause: err });
  }
  const key = parseBackupKey(text);
  if (!key) {
    throw new BackupError(BackupProblem.keyFile, `${file} is not a backup key file`, {
      hint: 'Pass the key file that `telehealth backup create` wrote (one line starting with thbk1:). The master key is a different key.',
    });
  }
  return key;
}

/**
 * Writes `key` to a new file (0600): through a temp file hard-linked into place, so a crash never
 * leaves half a key and an existing file — possibly the only copy of another key — is never replaced.
 */
export function writeBackupKeyFileExclusive(file: string, key: BackupKey): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, formatBackupKey(key));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
  } catch (err) {
    if (errCode(err) === 'EEXIST') throw new BackupError(BackupProblem.exists, `${file} already exists`, { hint: 'Key files are never overwritten: choose another --key-file.' });
    throw new BackupError(BackupProblem.keyFile, `cannot create backup key ${file} (${errCode(err)})`, { cause: err });
  } finally {
    unlinkSync(tmp);
  }
}
