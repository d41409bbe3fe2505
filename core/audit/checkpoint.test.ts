// Signing key file handling, signed checkpoints of the head, and the periodic checkpoint timer.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StartupError } from '../errors.ts';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { startCheckpointTimer } from './checkpoint-timer.ts';
import { checkpointSignatureValid, createCheckpointer, type Checkpoint } from './checkpoint.ts';
import { createAuditLog } from './log.ts';
import { keyIdOf, loadOrCreateSigningKey, loadSigningKey } from './signing-key.ts';
import { sampleEntry } from './test-fixtures/entries.ts';
import { verifyChain } from './verify.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'audit-key-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('audit signing key file', () => {
  it('is created once as an owner-only PKCS#8 Ed25519 PEM and then reused', () => {
    const file = path.join(dir, 'keys', 'audit-ed25519.pem');
    expect(loadSigningKey(file)).toBeNull();
    const created = loadOrCreateSigningKey(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(created.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(created.keyId).toBe(keyIdOf(created.publicKey));
    expect(loadOrCreateSigningKey(file).keyId).toBe(created.keyId);
    expect(loadSigningKey(file)?.keyId).toBe(created.keyId);
  });

  it('refuses a key other users can read, and a key that is not Ed25519', () => {
    const file = loadOrCreateSigningKey(path.join(dir, 'k.pem')) && path.join(dir, 'k.pem');
    chmodSync(file, 0o644);
    expect(() => loadSigningKey(file)).toThrow(/accessible by other users/);
    const rsa = path.join(dir, 'rsa.pem');
    writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    expect(() => loadSigningKey(rsa)).toThrow(StartupError);
    expect(() => loadSigningKey(rsa)).toThrow(/not Ed25519/);
  });
});

describe.each(ENGINES)('audit checkpoints on %s', (kind) => {
  const openDb = testDbPerTest(kind);

  it('signs the head once, and only when it moved', async () => {
    const t = await openDb();
    const key = loadOrCreateSigningKey(path.join(dir, 'k.pem'));
    const cps = createCheckpointer(t.db, key);
    const log = createAuditLog(t.db);
    expect(await cps.checkpoint()).toBeNull(); // empty chain
    for (let i = 0; i < 3; i++) await log.append(sampleEntry(i));
    const head = await log.head();
    const cp = await cps.checkpoint();
    expect(cp).toMatchObject({ seq: 3, head_hash: head?.hash, key_id: key.keyId });
    if (!cp) throw new Error('unreachable');
    expect(checkpointSignatureValid(cp, key.publicKey)).toBe(true);
    expect(checkpointSignatureValid({ ...cp, seq: 2 }, key.publicKey)).toBe(false);
    expect(await cps.checkpoint()).toBeNull(); // head unchanged
    await log.append(sampleEntry(3));
    expect(await cps.checkpoint()).toMatchObject({ seq: 4 });
    expect(await verifyChain(t.db, { publicKeys: [key.publicKey] })).toMatchObject({ ok: true, checked: 4, checkpoints: 2 });
  });

  it('runs periodically, reports failures to onError, and stops idempotently', async () => {
    const t = await openDb();
    const key = loadOrCreateSigningKey(path.join(dir, 'k.pem'));
    const log = createAuditLog(t.db);
    const made: Checkpoint[] = [];
    const errors: unknown[] = [];
    const timer = startCheckpointTimer(createCheckpointer(t.db, key), { intervalMs: 20, onError: (e) => errors.push(e), onCheckpoint: (c) => made.push(c) });
    await log.append(sampleEntry(0));
    await expect.poll(() => made.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await log.append(sampleEntry(1));
    await expect.poll(() => made.at(-1)?.seq, { timeout: 10_000 }).toBe(2);
    await Promise.all([timer.stop(), timer.stop()]);
    await timer.stop();
    expect(errors).toEqual([]);

    // A database that went away: the failure reaches onError and nothing is thrown unhandled.
    await log.append(sampleEntry(2));
    await t.dispose();
    const failing = startCheckpointTimer(createCheckpointer(t.db, key), { intervalMs: 10, onError: (e) => errors.push(e) });
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await failing.stop();
    expect(errors[0]).toBeInstanceOf(Error);
  });
});
