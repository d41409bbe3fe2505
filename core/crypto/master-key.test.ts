// Master key loading: env, file creation (0600/0700) outside production, refusal in production, no key bytes in output.
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.ts';
import { StartupError } from '../errors.ts';
import { generateMasterKey, masterKeyToBase64 } from './keyring.ts';
import { loadMasterKey, loadMasterKeyring, pendingMasterKeyPath, writeMasterKeyFileExclusive } from './master-key.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'master-key-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const cfg = (env: Record<string, string> = {}) => loadConfig({ APP_ENV: 'test', DATA_DIR: dir, ...env });

describe('loadMasterKey', () => {
  it('creates a 0600 base64 key file in a 0700 directory outside production and loads the same key again', () => {
    const first = loadMasterKey(cfg());
    const file = path.join(dir, 'keys', 'master.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const raw = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    expect(raw.length).toBe(32);
    expect(first.keyId).toBe(createHash('sha256').update(raw).digest('hex').slice(0, 16));
    expect(loadMasterKey(cfg()).keyId).toBe(first.keyId);
  });

  it('refuses to start in production without a key and says how to make one', () => {
    const prod = loadConfig({ APP_ENV: 'production', TRUST_PROXY: 'true', DATA_DIR: dir });
    let err: unknown;
    try {
      loadMasterKey(prod);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StartupError);
    expect((err as StartupError).hint).toContain('openssl rand -base64 32 >');
  });

  it('uses MASTER_KEY from the environment and does not create a file', () => {
    const key = generateMasterKey();
    const loaded = loadMasterKey(cfg({ MASTER_KEY: masterKeyToBase64(key) }));
    expect(loaded.keyId).toBe(key.keyId);
    expect(() => statSync(path.join(dir, 'keys', 'master.key'))).toThrow(/ENOENT/);
  });

  it('refuses a key file that other users can read, and a file that is not a key', () => {
    const file = path.join(dir, 'k');
    writeFileSync(file, `${masterKeyToBase64(generateMasterKey())}\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
    expect(() => loadMasterKey(cfg({ MASTER_KEY_FILE: file }))).toThrow(/accessible by other users/);
    writeFileSync(file, 'not a key\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    expect(() => loadMasterKey(cfg({ MASTER_KEY_FILE: file }))).toThrow(/does not hold 32 bytes/);
  });

  it('never shows key bytes when a key or keyring is printed or serialised', () => {
    const ring = loadMasterKeyring(cfg());
    const b64 = readFileSync(path.join(dir, 'keys', 'master.key'), 'utf8').trim();
    const hex = Buffer.from(b64, 'base64').toString('hex');
    const shown = `${inspect(ring, { depth: 10, showHidden: true })}${JSON.stringify(ring)}`;
    expect(shown).toContain(ring.current.keyId);
    expect(shown).not.toContain(b64);
    expect(shown).not.toContain(hex);
  });
});

describe('loadMasterKeyring', () => {
  it('keeps the key file current and also loads a staged .next key so an interrupted rotation stays readable', () => {
    const c = cfg();
    const current = loadMasterKey(c);
    expect(loadMasterKeyring(c).keyIds).toEqual([current.keyId]);
    const next = generateMasterKey();
    expect(writeMasterKeyFileExclusive(pendingMasterKeyPath(c), next)).toBe(true);
    expect(writeMasterKeyFileExclusive(pendingMasterKeyPath(c), generateMasterKey())).toBe(false); // never overwritten
    const ring = loadMasterKeyring(c);
    expect(ring.current.keyId).toBe(current.keyId);
    expect(ring.keyIds).toEqual([current.keyId, next.keyId]);
    expect(ring.get(next.keyId)?.keyId).toBe(next.keyId);
  });
});
