/**
 * Loading the master key (HIPAA 164.312(a)(2)(iv)): from MASTER_KEY, else the key file
 * (config.masterKeyPath, base64). Outside production a missing file is created (0600 in a 0700
 * directory, written to a temp file and hard-linked into place, so a crash never leaves half a
 * key and two processes starting at once share one). In production a missing key stops start-up.
 *
 * Rotation crash-safety (see rotate.ts and `telehealth keys rotate`): the new key is first written
 * to `<masterKeyPath>.next`, the database is re-wrapped in one transaction, then `.next` is renamed
 * over the key file. `loadMasterKeyring` also loads a `.next` file when one exists, so whichever
 * key the database ended up under after a crash opens; the key file stays the current (sealing)
 * key until the rotation is completed by running `keys rotate` again, which reuses `.next`.
 * Error messages name files and key ids, never key bytes.
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { StartupError } from '../errors.ts';
import { createMasterKeyring, generateMasterKey, masterKeyFromBase64, masterKeyToBase64, type MasterKey, type MasterKeyring } from './keyring.ts';

export type MasterKeyConfig = Pick<Config, 'masterKey' | 'masterKeyPath' | 'env'>;

function errCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

const makeHint = (file: string) => `Create one with: openssl rand -base64 32 > ${file} && chmod 600 ${file} (or set MASTER_KEY).`;

/** The key in `file`, or null when there is no such file. Refuses files other users can read. */
export function readMasterKeyFile(file: string): MasterKey | null {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new StartupError(`master key ${file} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new StartupError(`master key ${file} is accessible by other users (mode ${(st.mode & 0o777).toString(8)})`, `Restrict it to its owner: chmod 600 ${file}`);
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof StartupError) throw err;
    if (errCode(err) === 'ENOENT') return null;
    throw new StartupError(`cannot read master key ${file} (${errCode(err) ?? 'error'})`, undefined, { cause: err });
  }
  const key = masterKeyFromBase64(text);
  if (!key) throw new StartupError(`master key ${file} does not hold 32 bytes of base64`, makeHint(file));
  return key;
}

/**
 * Write `key` to `file` (0600, directory 0700) unless the file already exists. Returns false,
 * writing nothing, when it exists: a key file is never overwritten, it may be the only copy.
 */
export function writeMasterKeyFileExclusive(file: string, key: MasterKey): boolean {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${masterKeyToBase64(key)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
    fsyncDir(dir);
    return true;
  } catch (err) {
    if (errCode(err) === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Where `keys rotate` stages the new key before the database is re-wrapped under it. */
export function pendingMasterKeyPath(cfg: Pick<Config, 'masterKeyPath'>): string {
  return `${cfg.masterKeyPath}.next`;
}

/** Complete a file-mode rotation: atomically replace the key file by the staged `.next` key. */
export function promotePendingMasterKey(cfg: Pick<Config, 'masterKeyPath'>): void {
  renameSync(pendingMasterKeyPath(cfg), cfg.masterKeyPath);
  fsyncDir(path.dirname(cfg.masterKeyPath));
}

/** The current master key: MASTER_KEY, else the key file (created outside production). */
export function loadMasterKey(cfg: MasterKeyConfig): MasterKey {
  if (cfg.masterKey !== undefined) {
    const key = masterKeyFromBase64(cfg.masterKey);
    if (!key) throw new StartupError('MASTER_KEY does not hold 32 bytes of base64', 'Generate one with: openssl rand -base64 32');
    return key;
  }
  const file = cfg.masterKeyPath;
  const existing = readMasterKeyFile(file);
  if (existing) return existing;
  if (cfg.env === 'production') {
    throw new StartupError(`no master key: MASTER_KEY is unset and ${file} does not exist`, makeHint(file));
  }
  try {
    writeMasterKeyFileExclusive(file, generateMasterKey());
  } catch (err) {
    throw new StartupError(`cannot create master key ${file} (${errCode(err) ?? 'error'})`, 'Make its directory writable, or set MASTER_KEY_FILE or MASTER_KEY.', {
      cause: err,
    });
  }
  // Read back rather than trusting what we generated: another process may have won the race.
  const created = readMasterKeyFile(file);
  if (!created) throw new StartupError(`master key ${file} disappeared right after it was created`);
  return created;
}

/**
 * What composition roots should call: the current key plus, in key-file mode, a staged
 * `<masterKeyPath>.next` key left by an interrupted rotation (open-only; see the header).
 */
export function loadMasterKeyring(cfg: MasterKeyConfig): MasterKeyring {
  const current = loadMasterKey(cfg);
  if (cfg.masterKey !== undefined) return createMasterKeyring(current);
  const pending = readMasterKeyFile(pendingMasterKeyPath(cfg));
  return createMasterKeyring(current, pending ? [pending] : []);
}
