/**
 * The Ed25519 key that signs audit checkpoints (config.auditKeyPath). Created on first use as a
 * PKCS#8 PEM file readable only by its owner, in a 0700 directory; written to a temp file and
 * hard-linked into place, so a crash leaves no half-written key and two processes starting at
 * once end up with the same key. A key file other users can read is refused, like ssh does.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { StartupError } from '../errors.ts';

export interface AuditSigningKey {
  /** First 16 hex chars of SHA-256 of the raw 32-byte public key; stored with each checkpoint. */
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function keyIdOf(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new TypeError('not an Ed25519 public key');
  return createHash('sha256').update(Buffer.from(jwk.x, 'base64url')).digest('hex').slice(0, 16);
}

function errCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** Load the key at `file`, or null when no file exists there. */
export function loadSigningKey(file: string): AuditSigningKey | null {
  let pem: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new StartupError(`audit signing key ${file} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new StartupError(
        `audit signing key ${file} is accessible by other users (mode ${(st.mode & 0o777).toString(8)})`,
        `Restrict it to its owner: chmod 600 ${file}`,
      );
    }
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof StartupError) throw err;
    if (errCode(err) === 'ENOENT') return null;
    throw new StartupError(`cannot read audit signing key ${file} (${errCode(err) ?? 'error'})`, undefined, { cause: err });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new StartupError(`audit signing key ${file} is not a PEM private key`, 'Point AUDIT_SIGNING_KEY_FILE at a PKCS#8 Ed25519 key.', { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new StartupError(`audit signing key ${file} is ${privateKey.asymmetricKeyType ?? 'not asymmetric'}, not Ed25519`);
  }
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

/** Load the key at `file`, creating it (0600, parent directory 0700) when it does not exist. */
export function loadOrCreateSigningKey(file: string): AuditSigningKey {
  const existing = loadSigningKey(file);
  if (existing) return existing;
  const dir = path.dirname(file);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey: pem } = generateKeyPairSync('ed25519', {
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, pem);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, file); // fails with EEXIST when another process created the key first: use theirs
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
  } catch (err) {
    throw new StartupError(`cannot create audit signing key ${file} (${errCode(err) ?? 'error'})`, 'Make its directory writable, or set AUDIT_SIGNING_KEY_FILE.', {
      cause: err,
    });
  }
  const created = loadSigningKey(file);
  if (!created) throw new StartupError(`audit signing key ${file} disappeared right after it was created`);
  return created;
}
