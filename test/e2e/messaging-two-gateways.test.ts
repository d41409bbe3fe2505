/**
 * Two gateway processes (`telehealth start`, each its own OS process) on one PostgreSQL database
 * and one Redis: a sender on one and a recipient on the other exchange end-to-end-encrypted
 * messages both ways (delivery crosses processes through Redis notices and the shared envelope
 * table). Then the terminal client: `telehealth chat` login / register-device / send / listen /
 * verify as child processes, a provider on one gateway and a patient on the other.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../core/config/load.ts';
import { loadMasterKeyring } from '../../core/crypto/index.ts';
import type { Db } from '../../core/db/types.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { totpCode } from '../../gateway/testing/identity-harness.ts';
import type { Identity } from '../../gateway/identity.ts';
import { openTestDb, type TestDb } from '../helpers/databases.ts';
import { eventually, newDevice, seedingIdentity, seedPeople, storeFactory } from '../helpers/messaging.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin', 'telehealth');
const START_TIMEOUT_MS = 30_000;
const CLI_TIMEOUT_MS = 20_000;
const TEST_TIMEOUT_MS = 90_000;

const children: ChildProcess[] = [];
const dirs: string[] = [];
const tempDir = (prefix: string): string => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { REDIS_URL: _r, DATABASE_URL: _d, CONFIG_FILE: _c, ...rest } = process.env;
  return { ...rest, LOG_LEVEL: 'warn', ...extra };
}

/** `telehealth start` as its own process; resolves with the URL from its "listening on" line. */
function startGateway(env: Record<string, string>): Promise<{ url: string; stderr: () => string }> {
  const child = spawn(CLI, ['start'], { env: baseEnv({ ...env, PORT: '0', DATA_DIR: tempDir('th-gw-') }), stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`gateway did not start within ${START_TIMEOUT_MS} ms: ${err}`)), START_TIMEOUT_MS);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m?.[1]) {
        clearTimeout(t);
        resolve({ url: m[1], stderr: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`gateway exited ${code} before listening: ${err}`));
    });
  });
}

/** One `telehealth` command as a child process. */
function cli(args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(CLI, args, { env: baseEnv(opts.env ?? {}), stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin?.end(opts.stdin ?? '');
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`telehealth ${args.slice(0, 2).join(' ')} did not finish within ${CLI_TIMEOUT_MS} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, CLI_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('two gateway processes on one PostgreSQL and one Redis', () => {
  let t: TestDb;
  let redis: Redis;
  let identity: Identity;
  let db: Db;
  let gwA: string;
  let gwB: string;
  const stores = storeFactory();
  const messengers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    // Migrated here first, so the two processes start on an up-to-date schema.
    t = await openTestDb('postgres');
    db = t.db;
    const url = t.url;
    if (url === undefined) throw new Error('no PostgreSQL URL');
    redis = await connectRedis(inject('redisUrl'));
    const masterKey = randomBytes(32).toString('base64');
    // Both gateways share one key prefix (they are one deployment), apart from other tests on this Redis.
    const env = { DATABASE_URL: url, REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: `gw2-${randomUUID().slice(0, 8)}:`, MASTER_KEY: masterKey, APP_ENV: 'development' };
    const [a, b] = await Promise.all([startGateway(env), startGateway(env)]);
    gwA = a.url;
    gwB = b.url;
    expect(gwA).not.toBe(gwB);
    // Accounts and sessions written where the gateways read them (the same database, Redis and
    // key prefix, the same master key for sealed TOTP secrets).
    const config = loadConfig({ ...env, APP_ENV: 'test', PORT: '0' });
    identity = seedingIdentity({ db, redis, config, keyPrefix: config.redisKeyPrefix, keyring: loadMasterKeyring(config) });
    await identity.sessions.ready();
  }, 60_000);

  afterAll(async () => {
    for (const m of messengers.splice(0)) await m.close();
    await stores.cleanup();
    await Promise.all(
      children.splice(0).map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
    await identity.sessions.close();
    redis.disconnect();
    await t.dispose();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }, 30_000);

  it('a provider on gateway A and a patient on gateway B exchange messages both ways, with receipts', async () => {
    const { provider, patient } = await seedPeople(identity, db);
    const pro = await newDevice(stores, gwA, provider.token, provider.id, 'provider-on-A');
    const pat = await newDevice(stores, gwB, patient.token, patient.userId, 'patient-on-B');
    messengers.push(pro.messenger, pat.messenger);
    await Promise.all([pro.messenger.start(), pat.messenger.start()]);

    const tag = randomUUID().slice(0, 8);
    const m1 = await pro.messenger.sendText(patient.userId, `A to B ${tag}`);
    await pat.recorder.until('A→B on gateway B', () => pat.recorder.texts().includes(`A to B ${tag}`));
    await pro.recorder.until('the receipt back on gateway A', () => pro.recorder.events.receipt.some((r) => r.clientIds.includes(m1.clientId)));
    await pat.messenger.sendText(provider.id, `B to A ${tag}`);
    await pro.recorder.until('B→A on gateway A', () => pro.recorder.texts().includes(`B to A ${tag}`));
    for (const n of [1, 2, 3]) await pat.messenger.sendText(provider.id, `B to A ${tag} #${n}`);
    await pro.recorder.until('three more on gateway A', () => pro.recorder.texts().length === 4);
    expect(pro.recorder.texts()).toEqual([`B to A ${tag}`, ...[1, 2, 3].map((n) => `B to A ${tag} #${n}`)]);
    expect(pat.recorder.texts()).toEqual([`A to B ${tag}`]);
    for (const d of [pro, pat]) expect(d.recorder.events.decryptError, d.recorder.name).toEqual([]);
    // Every envelope was acked, through whichever gateway held the recipient's socket.
    await eventually('no envelopes left', async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM envelopes WHERE recipient_user IN ($1, $2)', [provider.id, patient.userId]))[0]?.n === 0);
  }, TEST_TIMEOUT_MS);

  it('telehealth chat: login, register-device, send, listen and verify between two terminals on two gateways', async () => {
    const { provider, patient } = await seedPeople(identity, db);
    const { code: enrollmentCode } = await identity.enrollment.createCode(patient.patientId, { actorType: 'user', actorId: provider.id });
    const proState = path.join(tempDir('th-chat-'), 'state');
    const patState = path.join(tempDir('th-chat-'), 'state');
    const env = { TELEHEALTH_CHAT_PASSPHRASE: `pass-${randomUUID()}` };
    const ok = (r: { code: number | null; stdout: string; stderr: string }, what: string) => expect(r.code, `${what}: ${r.stderr}`).toBe(0);

    const [proLogin, patLogin] = await Promise.all([
      cli(['chat', 'login', '--url', gwA, '--username', provider.username, '--password-stdin', '--totp', await totpCode(provider.totpSecret), '--state', proState], { env, stdin: `${provider.password}\n` }),
      cli(['chat', 'login', '--url', gwB, '--enrollment-code', enrollmentCode, '--state', patState], { env }),
    ]);
    ok(proLogin, 'provider login');
    ok(patLogin, 'patient login');
    expect(proLogin.stdout).toContain(`Signed in as ${provider.id} (staff)`);
    expect(patLogin.stdout).toContain(`Signed in as ${patient.userId} (patient)`);
    const [proReg, patReg] = await Promise.all([cli(['chat', 'register-device', '--state', proState], { env }), cli(['chat', 'register-device', '--state', patState], { env })]);
    ok(proReg, 'provider register-device');
    ok(patReg, 'patient register-device');
    expect(proReg.stdout).toMatch(/^Registered device \d+/);

    const toPatient = `cli hello ${randomUUID().slice(0, 8)}`;
    const sent = await cli(['chat', 'send', '--to', patient.userId, '--state', proState, toPatient], { env });
    ok(sent, 'provider send');
    expect(sent.stdout).toMatch(/^Sent [0-9a-f-]{36} \(1 device\(s\)\)/);
    const patListen = await cli(['chat', 'listen', '--exit-when-drained', '--state', patState], { env });
    ok(patListen, 'patient listen');
    expect(patListen.stdout).toContain(`${provider.id}.1: ${toPatient}`);

    const toProvider = `cli reply ${randomUUID().slice(0, 8)}`;
    ok(await cli(['chat', 'send', '--to', provider.id, '--state', patState, toProvider], { env }), 'patient send');
    const proListen = await cli(['chat', 'listen', '--exit-when-drained', '--state', proState], { env });
    ok(proListen, 'provider listen');
    expect(proListen.stdout).toContain(`${patient.userId}.1: ${toProvider}`);
    expect(proListen.stdout).toMatch(new RegExp(`delivered by ${patient.userId}\\.1: [0-9a-f-]{36}`));

    const [proVerify, patVerify] = await Promise.all([
      cli(['chat', 'verify', '--peer', patient.userId, '--state', proState], { env }),
      cli(['chat', 'verify', '--peer', provider.id, '--state', patState], { env }),
    ]);
    ok(proVerify, 'provider verify');
    ok(patVerify, 'patient verify');
    const digits = (s: string) => /device 1: ((?:\d{5} ){11}\d{5})/.exec(s)?.[1];
    expect(digits(proVerify.stdout), proVerify.stdout).toBeDefined();
    expect(digits(proVerify.stdout)).toBe(digits(patVerify.stdout));
  }, TEST_TIMEOUT_MS);
});
