// Restore drill (issue 8 item 6, HIPAA 164.308(a)(7)): a deployment seeded through the real stores
// (staff, patient with encrypted fields, consent grants and a revocation, a pending E2EE envelope,
// audit entries with a signed checkpoint) is backed up and restored with the real CLI commands into
// an empty deployment, across engines; then the restored system must verify its audit chain and
// checkpoints, serve the envelope, keep consent history, decrypt the patient with the same master
// key — and damaged, truncated, wrongly keyed backups and non-empty targets must be refused.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ActorType, AuditAction, AuditOutcome, createAuditLog, createCheckpointer, loadOrCreateSigningKey, verifyChain, type AuditSigningKey } from '../../core/audit/index.ts';
import { createBackup, generateBackupKey, readBackupKeyFile, restoreBackup, writeBackupKeyFileExclusive, BackupError } from '../../core/backup/index.ts';
import { ident, readCatalog } from '../../core/backup/catalog.ts';
import { createConsentLedger } from '../../core/consent/index.ts';
import { createMasterKeyring, createPatientCipher, masterKeyFromBase64 } from '../../core/crypto/index.ts';
import { migrate } from '../../core/db/migrate.ts';
import { openPglite } from '../../core/db/pglite.ts';
import { openPostgres } from '../../core/db/postgres.ts';
import type { Db, DbKind } from '../../core/db/types.ts';
import { createUserStore } from '../../core/identity/user-store.ts';
import { createPatientStore } from '../../core/patients/index.ts';
import { hashPassword } from '../../gateway/auth/password.ts';
import { createEnvelopeStore } from '../../gateway/messaging/envelope-store.ts';
import { seedDevice } from '../../gateway/messaging/test-fixtures.ts';
import { backupCommands } from '../../bin/commands/backup.ts';
import { runCommand, type Ran } from '../../bin/commands/test-fixtures/run-command.ts';
import { createPostgresDatabase } from '../helpers/databases.ts';

/** A deployment: its environment for the CLI and a way to open its database directly. */
interface Deployment {
  readonly env: Record<string, string>;
  open(): Promise<Db>;
}

interface Seeded {
  readonly staffId: string;
  readonly colleagueId: string;
  readonly patientId: string;
  readonly envelope: { id: string; seq: number; content: Buffer };
}

const masterKeyB64 = randomBytes(32).toString('base64');
const keyring = createMasterKeyring(masterKeyFromBase64(masterKeyB64) ?? (() => { throw new Error('bad test key'); })());
const PATIENT = { givenName: 'Ada', familyName: 'Lovelace', birthDate: '1915-12-10', phone: '+15555550123', email: 'ada@example.org', mrn: 'MRN-0042' };

let work: string;
let signingKey: AuditSigningKey;
const drops: (() => Promise<void>)[] = [];
/** A fresh, never-used PGlite data dir, copied for each PGlite deployment: creating one costs seconds. */
let pgliteTemplate: string;
let passwordHash: string;

beforeAll(async () => {
  pgliteTemplate = mkdtempSync(path.join(tmpdir(), 'backup-drill-template-'));
  const db = await openPglite({ dataDir: path.join(pgliteTemplate, 'pglite') });
  await db.close();
  passwordHash = await hashPassword('correct horse battery staple 42');
});
afterAll(() => {
  rmSync(pgliteTemplate, { recursive: true, force: true });
});

beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'backup-drill-'));
  signingKey = loadOrCreateSigningKey(path.join(work, 'keys', 'audit-ed25519.pem'));
});
afterEach(async () => {
  for (const d of drops.splice(0)) await d();
  rmSync(work, { recursive: true, force: true });
});

async function deployment(kind: DbKind, name: string): Promise<Deployment> {
  const dataDir = path.join(work, name);
  const env: Record<string, string> = { APP_ENV: 'test', DATA_DIR: dataDir, MASTER_KEY: masterKeyB64, AUDIT_SIGNING_KEY_FILE: path.join(work, 'keys', 'audit-ed25519.pem') };
  if (kind === 'postgres') {
    const created = await createPostgresDatabase();
    drops.push(created.drop);
    env['DATABASE_URL'] = created.url;
    return { env, open: () => openPostgres({ url: created.url, poolMax: 4 }) };
  }
  cpSync(path.join(pgliteTemplate, 'pglite'), path.join(dataDir, 'pglite'), { recursive: true });
  return { env, open: () => openPglite({ dataDir: path.join(dataDir, 'pglite') }) };
}

async function withDb<T>(d: Deployment, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await d.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const run = (d: Deployment, argv: readonly string[]): Promise<Ran> => runCommand(backupCommands, argv, d.env);

/** Everything the drill checks later, written through the stores the product uses. */
async function seed(db: Db): Promise<Seeded> {
  await migrate(db);
  const audit = createAuditLog(db);
  const users = createUserStore(db);
  const staff = await db.transaction(async (tx) => {
    const u = await users.createStaff({ username: 'dr.backup', displayName: 'Dr Backup', role: 'provider', passwordHash, createdBy: null }, tx);
    await audit.append({ actorType: ActorType.system, actorId: 'drill', action: AuditAction.userCreate, outcome: AuditOutcome.success, resourceType: 'user', resourceId: u.id }, tx);
    return u;
  });
  const colleague = await users.createStaff({ username: 'nurse.backup', displayName: 'Nurse Backup', role: 'provider', passwordHash, createdBy: staff.id });
  const actor = { actorType: ActorType.user, actorId: staff.id } as const;
  const patients = createPatientStore({ db, cipher: createPatientCipher({ db, keyring }), audit });
  const { id: patientId } = await patients.create(PATIENT, actor);
  const consent = createConsentLedger({ db, audit });
  const base = { patientId, channel: 'sms', purpose: 'appointment_reminders' } as const;
  await consent.record({ ...base, state: 'granted', method: 'form', evidenceRef: 'form-1' }, actor);
  await consent.record({ ...base, state: 'revoked', method: 'keyword', evidenceRef: 'SM-stop-1' }, actor);
  await consent.record({ ...base, state: 'granted', method: 'verbal' }, actor);
  await consent.record({ patientId, channel: 'email', purpose: 'general_outreach', state: 'granted', method: 'portal' }, actor);
  await seedDevice(db, staff.id, 1);
  await seedDevice(db, colleague.id, 1);
  const envelopes = createEnvelopeStore(db);
  const content = randomBytes(300);
  const [ref] = await envelopes.store({ recipientUser: colleague.id, senderUser: staff.id, senderDevice: 1, envelopes: [{ deviceId: 1, type: 3, content }] });
  // An acknowledged one: the sequence runs ahead of the rows, and must stay ahead after restore.
  const [acked] = await envelopes.store({ recipientUser: colleague.id, senderUser: staff.id, senderDevice: 1, envelopes: [{ deviceId: 1, type: 2, content: randomBytes(40) }] });
  if (!ref || !acked) throw new Error('envelope not stored');
  await envelopes.ack(colleague.id, 1, [acked.id]);
  await audit.append({ actorType: ActorType.user, actorId: staff.id, action: AuditAction.messageSend, outcome: AuditOutcome.success, resourceType: 'envelope', resourceId: ref.id });
  const cp = await createCheckpointer(db, signingKey).checkpoint();
  if (!cp) throw new Error('no checkpoint');
  await audit.append({ actorType: ActorType.user, actorId: staff.id, action: AuditAction.patientView, outcome: AuditOutcome.success, patientId });
  return { staffId: staff.id, colleagueId: colleague.id, patientId, envelope: { id: ref.id, seq: ref.seq, content } };
}

/** Every application table as the database's own text, in key order (UTC). */
async function dumpAll(db: Db): Promise<Record<string, string[]>> {
  return db.transaction(async (tx) => {
    await tx.query(`SET LOCAL TimeZone = 'UTC'`);
    const out: Record<string, string[]> = {};
    for (const t of (await readCatalog(tx)).tables) {
      const order = t.primaryKey.length > 0 ? t.primaryKey.map(ident).join(', ') : '1';
      out[t.name] = (await tx.query<{ j: string }>(`SELECT to_jsonb(t)::text AS j FROM ${ident(t.name)} AS t ORDER BY ${order}`)).map((r) => r.j);
    }
    return out;
  });
}

/** Copy of `file` with `mutate` applied to its bytes. */
function variant(file: string, name: string, mutate: (b: Buffer) => Buffer): string {
  const out = path.join(work, name);
  writeFileSync(out, mutate(Buffer.from(readFileSync(file))), { mode: 0o600 });
  return out;
}

const HEADER = 96;

describe.each([
  ['pglite', 'pglite'],
  ['postgres', 'pglite'],
  ['pglite', 'postgres'],
] as const)('backup %s → restore %s', (from, to) => {
  // Generous: creating and opening PGlite data dirs takes seconds each on a loaded machine.
  it('restores a deployment that verifies, serves, keeps consent and decrypts; refuses bad backups and non-empty targets', { timeout: 120_000 }, async () => {
    const source = await deployment(from, 'source');
    const { seeded, before } = await withDb(source, async (db) => {
      const s = await seed(db);
      return { seeded: s, before: await dumpAll(db) };
    });

    const backupFile = path.join(work, 'drill.thbk');
    const t0 = Date.now();
    const made = await run(source, ['backup', 'create', '--out', backupFile]);
    const createMs = Date.now() - t0;
    expect(made.stderr).toContain(`backed up audit_log: ${before['audit_log']?.length ?? -1} rows`);
    expect(made).toMatchObject({ code: 0, stdout: expect.stringMatching(/^backup written to .*drill\.thbk: \d+ rows in \d+ tables, schema version \d+/) as unknown });
    const keyFile = `${backupFile}.key`;
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^thbk1:/);
    // Neither key is in the backup: the file holds no plaintext row, and not the master key's bytes.
    const bytes = readFileSync(backupFile);
    expect(bytes.includes(Buffer.from(seeded.patientId))).toBe(false);
    expect(bytes.includes(Buffer.from(masterKeyB64, 'base64'))).toBe(false);
    // The backup itself is in the source's chain, with the file's hash.
    const sha = /sha256 ([0-9a-f]{64})/.exec(made.stdout)?.[1];
    await withDb(source, async (db) => {
      const [row] = await db.query<{ details: Record<string, unknown> }>(`SELECT details FROM audit_log WHERE action = 'backup.create' ORDER BY seq DESC LIMIT 1`);
      expect(row?.details['fileSha256']).toBe(sha);
    });

    // --- refusals first, each against the same empty target, which must stay empty ---
    const target = await deployment(to, 'target');
    const wrongKey = path.join(work, 'other.key');
    writeBackupKeyFileExclusive(wrongKey, generateBackupKey());
    const wrong = await run(target, ['backup', 'restore', '--in', backupFile, '--key-file', wrongKey]);
    expect(wrong).toMatchObject({ code: 1, stderr: expect.stringContaining('the key does not open this backup') as unknown });

    const flipped = variant(backupFile, 'flipped.thbk', (b) => {
      b[HEADER + 5 + 100] = (b[HEADER + 5 + 100] ?? 0) ^ 0x01;
      return b;
    });
    const flip = await run(target, ['backup', 'restore', '--in', flipped, '--key-file', keyFile]);
    expect(flip).toMatchObject({ code: 1, stderr: expect.stringMatching(/chunk 1 \(byte offset 96\) of .*flipped\.thbk is corrupted: it fails authentication/) as unknown });

    const cut = variant(backupFile, 'cut.thbk', (b) => b.subarray(0, b.length - 200));
    const truncated = await run(target, ['backup', 'restore', '--in', cut, '--key-file', keyFile]);
    expect(truncated).toMatchObject({ code: 1, stderr: expect.stringMatching(/is truncated inside chunk 1/) as unknown });

    const future = variant(backupFile, 'future.thbk', (b) => {
      b.writeUInt16BE(2, 8);
      return b;
    });
    expect(await run(target, ['backup', 'verify', '--in', future, '--key-file', keyFile])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('is backup format 2; this build reads format 1') as unknown,
    });
    // None of that wrote anything: not even the schema.
    await withDb(target, async (db) => {
      expect(await db.query(`SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema()`)).toEqual([]);
    });

    // --- the restore ---
    const t1 = Date.now();
    const restored = await run(target, ['backup', 'restore', '--in', backupFile, '--key-file', keyFile]);
    const restoreMs = Date.now() - t1;
    expect(restored.stderr).toContain(`restored audit_log: ${before['audit_log']?.length ?? -1} rows`);
    expect(restored.stderr).not.toContain('telehealth backup restore:');
    expect(restored.code).toBe(0);
    expect(restored.stdout).toMatch(/^restored \d+ rows in \d+ tables from .*drill\.thbk \(made .* on (pglite|postgres), schema version \d+\)/);
    expect(restored.stdout).toMatch(/audit chain intact: \d+ entries, 1 signed checkpoint\(s\) verified/);
    expect(restored.stdout).toContain(`master key ${keyring.current.keyId} configured`);

    await withDb(target, async (db) => {
      // Every row is back byte for byte; the chain grew by exactly the restore's own entry.
      const after = await dumpAll(db);
      const log = after['audit_log'] ?? [];
      const last = JSON.parse(log.at(-1) ?? '{}') as { action?: string; prev_hash?: string };
      expect(last.action).toBe('backup.restore');
      expect(last.prev_hash).toBe((JSON.parse(before['audit_log']?.at(-1) ?? '{}') as { hash?: string }).hash);
      expect({ ...after, audit_log: log.slice(0, -1) }).toEqual(before);

      // The chain and its checkpoint verify with the same signing key.
      const chain = await verifyChain(db, { publicKeys: [signingKey.publicKey] });
      expect(chain).toMatchObject({ ok: true, checkpoints: 1, checked: log.length });

      // The pending envelope is still served to its device; new ones continue the sequence.
      const envelopes = createEnvelopeStore(db);
      const pending = await envelopes.listPending(seeded.colleagueId, 1);
      expect(pending.map((e) => ({ id: e.id, seq: e.seq, content: e.content }))).toEqual([seeded.envelope]);
      const [next] = await envelopes.store({ recipientUser: seeded.colleagueId, senderUser: seeded.staffId, senderDevice: 1, envelopes: [{ deviceId: 1, type: 2, content: randomBytes(8) }] });
      expect(next?.seq).toBe(seeded.envelope.seq + 2);

      // Consent history is identical and still decides: latest SMS state is the re-grant.
      const consent = createConsentLedger({ db, audit: createAuditLog(db) });
      const history = await consent.history(seeded.patientId);
      expect(history.map((r) => [r.channel, r.purpose, r.version, r.state, r.method])).toEqual([
        ['email', 'general_outreach', 1, 'granted', 'portal'],
        ['sms', 'appointment_reminders', 1, 'granted', 'form'],
        ['sms', 'appointment_reminders', 2, 'revoked', 'keyword'],
        ['sms', 'appointment_reminders', 3, 'granted', 'verbal'],
      ]);

      // The patient decrypts with the same master key (which was never in the backup).
      const patients = createPatientStore({ db, cipher: createPatientCipher({ db, keyring }), audit: createAuditLog(db) });
      expect(await patients.get(seeded.patientId)).toMatchObject({ erased: false, ...PATIENT });
    });

    // A second restore into the now non-empty target is refused, and changes nothing.
    const again = await run(target, ['backup', 'restore', '--in', backupFile, '--key-file', keyFile]);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringMatching(/the target database is not empty \(.*audit_log: \d+/) as unknown });

    console.info(`backup ${from} → restore ${to}: create ${createMs} ms, restore ${restoreMs} ms, ${bytes.length} bytes`);
  });
});

describe('a backup in many chunks (pglite)', () => {
  it('names the damaged chunk, and refuses a file cut at a chunk boundary or with chunks swapped', { timeout: 120_000 }, async () => {
    const keyFile = path.join(work, 'k.key');
    writeBackupKeyFileExclusive(keyFile, generateBackupKey());
    const key = readBackupKeyFile(keyFile);
    if (!key) throw new Error('no key');
    const file = path.join(work, 'small-chunks.thbk');
    const chunkSize = 1024;
    const made = await withDb(await deployment('pglite', 'source'), async (db) => {
      await seed(db);
      return createBackup({ db, out: file, key, chunkSize });
    });
    expect(made.chunks).toBeGreaterThan(4);
    const chunkStart = (n: number): number => HEADER + (5 + chunkSize + 16) * (n - 1);

    const third = variant(file, 'third.thbk', (b) => {
      b[chunkStart(3) + 5 + 17] = (b[chunkStart(3) + 5 + 17] ?? 0) ^ 0x80;
      return b;
    });
    const boundary = path.join(work, 'boundary.thbk');
    writeFileSync(boundary, readFileSync(file), { mode: 0o600 });
    truncateSync(boundary, chunkStart(3));
    const swapped = variant(file, 'swapped.thbk', (b) => {
      const second = Buffer.from(b.subarray(chunkStart(2), chunkStart(3)));
      b.copy(b, chunkStart(2), chunkStart(3), chunkStart(4));
      second.copy(b, chunkStart(3));
      return b;
    });

    await withDb(await deployment('pglite', 'target'), async (db) => {
      const attempt = (f: string): Promise<unknown> => restoreBackup({ db, file: f, key }).then(() => 'restored', (err: unknown) => err);
      const e3 = await attempt(third);
      expect(e3).toBeInstanceOf(BackupError);
      expect(e3).toMatchObject({ problem: 'chunk_corrupted', chunk: 3, message: expect.stringContaining(`chunk 3 (byte offset ${chunkStart(3)})`) as unknown });
      expect(await attempt(boundary)).toMatchObject({ problem: 'truncated', message: expect.stringContaining('ends after chunk 2 without its final chunk') as unknown });
      expect(await attempt(swapped)).toMatchObject({ problem: 'chunk_corrupted', chunk: 2 });
      // Refused before any database work: the target is still blank, so the intact file restores into it.
      expect(await db.query(`SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema()`)).toEqual([]);
      expect(await attempt(file)).toBe('restored');
      expect(await verifyChain(db, { publicKeys: [signingKey.publicKey] })).toMatchObject({ ok: true, checkpoints: 1 });
    });
  });
});
