import { argon2Sync, randomBytes, randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAuditLog } from '../../core/audit/index.ts';
import { loadConfig } from '../../core/config/load.ts';
import { createMasterKeyring, createMasterSealer, generateMasterKey } from '../../core/crypto/index.ts';
import type { Db } from '../../core/db/types.ts';
import { createUserStore } from '../../core/identity/user-store.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { createChallengeStore } from './login-challenge.ts';
import { createLoginThrottle } from './login-throttle.ts';
import { ARGON2_PARAMS, hashPassword, verifyPassword } from './password.ts';
import { createStaffLogin, type LoginContext } from './staff-login.ts';

let redis: Redis;
beforeAll(async () => {
  redis = await connectRedis(inject('redisUrl'));
});
afterAll(() => redis.disconnect());

const PASSWORD = 'violet harbor quantum kettle';
const ctx: LoginContext = { requestId: 'req-1', ip: '198.51.100.7' };

interface AuditRow {
  action: string;
  actor_type: string;
  actor_id: string | null;
  outcome: string;
  ip: string | null;
  details: Record<string, unknown>;
}

function setup(db: Db, limits: { maxFailures?: number; perIp?: number } = {}) {
  const config = loadConfig({
    APP_ENV: 'test',
    LOGIN_MAX_FAILURES: String(limits.maxFailures ?? 3),
    LOGIN_LOCKOUT_SEC: '60',
    LOGIN_MAX_FAILURES_PER_IP: String(limits.perIp ?? 1000),
  });
  const prefix = `test-${randomUUID()}`;
  const users = createUserStore(db);
  const throttle = createLoginThrottle({ redis, config, keyPrefix: `${prefix}:throttle` });
  const challenges = createChallengeStore({ redis, keyPrefix: `${prefix}:challenge` });
  const sealer = createMasterSealer(createMasterKeyring(generateMasterKey()));
  let clock = Math.floor(Date.now() / 1000);
  const login = createStaffLogin({ db, users, throttle, challenges, sealer, audit: createAuditLog(db), issuer: 'Test Clinic', now: () => new Date(clock * 1000) });
  const createUser = async (username: string, opts: { passwordHash?: string } = {}) =>
    users.createStaff({ username, displayName: 'Test User', role: 'provider', passwordHash: opts.passwordHash ?? (await hashPassword(PASSWORD)), createdBy: null });
  /** A code for the clock's current step (optionally a later one). */
  const code = (secret: string, stepsAhead = 0) => generate({ secret, epoch: clock + stepsAhead * 30 });
  const tick = (steps = 1) => (clock += steps * 30);
  /** Enrolled user: returns the authenticator secret and recovery codes. */
  const enrolled = async (username: string) => {
    const user = await createUser(username);
    const { challenge } = await login.passwordStep(username, PASSWORD, ctx);
    const { secret } = await login.startEnrollment(challenge);
    const { recoveryCodes } = await login.confirmEnrollment(challenge, await code(secret), ctx);
    tick();
    return { user, secret, recoveryCodes };
  };
  const auditRows = () => db.query<AuditRow>('SELECT action, actor_type, actor_id, outcome, ip, details FROM audit_log ORDER BY seq');
  return { users, throttle, challenges, login, createUser, code, tick, enrolled, auditRows };
}

describe.each(ENGINES)('staff login (%s)', (kind) => {
  const open = testDbPerTest(kind);

  it('fails identically for an unknown user, a wrong password and a disabled account, and audits each', async () => {
    const { db } = await open();
    const t = setup(db, { maxFailures: 10 });
    const known = await t.createUser('known');
    const disabled = await t.createUser('gone');
    await t.users.setStatus(disabled.id, 'disabled');
    const errors = await Promise.all([
      t.login.passwordStep('nobody', PASSWORD, ctx).catch((e: unknown) => e),
      t.login.passwordStep('known', 'wrong password entirely', ctx).catch((e: unknown) => e),
      t.login.passwordStep('gone', PASSWORD, ctx).catch((e: unknown) => e),
    ]);
    for (const e of errors) {
      expect(e).toMatchObject({ status: 401, code: 'invalid_credentials', message: 'Invalid username or password' });
      expect(Object.keys(e as object).sort()).toEqual(Object.keys(errors[0] as object).sort());
    }
    const rows = await t.auditRows();
    const byActor = (id: string | null) => rows.find((r) => r.actor_id === id);
    expect(byActor(null)).toMatchObject({ action: 'auth.login.failure', actor_type: 'anonymous', outcome: 'failure', details: { reason: 'bad_credentials' } });
    expect(byActor(known.id)).toMatchObject({ action: 'auth.login.failure', actor_type: 'user', ip: ctx.ip, details: { reason: 'bad_credentials' } });
    expect(byActor(disabled.id)).toMatchObject({ action: 'auth.login.failure', actor_type: 'user', details: { reason: 'disabled' } });
    expect(rows).toHaveLength(3);
  });

  it('requires TOTP enrollment at first sign-in, then TOTP at every sign-in', async () => {
    const { db } = await open();
    const t = setup(db);
    const user = await t.createUser('newbie');
    const first = await t.login.passwordStep('NewBie', PASSWORD, ctx);
    expect(first.next).toBe('enroll');
    // An enroll challenge cannot be used as a completed second factor.
    await expect(t.login.mfaStep(first.challenge, { code: '123456' }, ctx)).rejects.toMatchObject({ status: 401, code: 'challenge_invalid' });
    const again = await t.login.passwordStep('newbie', PASSWORD, ctx);
    const { secret, otpauthUri } = await t.login.startEnrollment(again.challenge);
    expect(otpauthUri).toContain(`secret=${secret}`);
    expect((await t.users.getCredentials(user.id))?.totpSecret?.includes(Buffer.from(secret))).toBe(false); // sealed
    await expect(t.login.confirmEnrollment(again.challenge, '000000', ctx)).rejects.toMatchObject({ status: 401, code: 'invalid_code' });
    const done = await t.login.confirmEnrollment(again.challenge, await t.code(secret), ctx);
    expect(done).toMatchObject({ userId: user.id, role: 'provider' });
    expect(done.recoveryCodes).toHaveLength(10);
    await expect(t.login.confirmEnrollment(again.challenge, await t.code(secret), ctx)).rejects.toMatchObject({ code: 'challenge_invalid' });

    t.tick();
    const second = await t.login.passwordStep('newbie', PASSWORD, ctx);
    expect(second.next).toBe('mfa');
    await expect(t.login.startEnrollment(second.challenge)).rejects.toMatchObject({ code: 'challenge_invalid' });
    expect(await t.login.mfaStep(second.challenge, { code: await t.code(secret) }, ctx)).toEqual({ userId: user.id, role: 'provider', method: 'totp' });

    const actions = (await t.auditRows()).map((r) => `${r.action}:${r.outcome}${typeof r.details['reason'] === 'string' ? `:${r.details['reason']}` : ''}`);
    expect(actions).toEqual([
      'auth.login.failure:failure:challenge_invalid',
      'auth.login.failure:failure:bad_totp',
      'auth.mfa.enroll:success',
      'auth.login.success:success',
      'auth.login.failure:failure:challenge_invalid',
      'auth.login.success:success',
    ]);
  });

  it('never accepts the same TOTP code twice, even concurrently', async () => {
    const { db } = await open();
    const t = setup(db, { maxFailures: 10 });
    const { user, secret } = await t.enrolled('reuse');
    const challenges = await Promise.all([1, 2, 3, 4].map(() => t.login.passwordStep('reuse', PASSWORD, ctx)));
    const codeNow = await t.code(secret);
    const results = await Promise.allSettled(challenges.map((c) => t.login.mfaStep(c.challenge, { code: codeNow }, ctx)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ status: 401, code: 'invalid_code' });
    // A later replay of the same code on a fresh challenge is refused too.
    const late = await t.login.passwordStep('reuse', PASSWORD, ctx);
    await expect(t.login.mfaStep(late.challenge, { code: codeNow }, ctx)).rejects.toMatchObject({ code: 'invalid_code' });
    const reused = (await t.auditRows()).filter((r) => r.details['reason'] === 'totp_reused');
    expect(reused).toHaveLength(4);
    expect(reused.every((r) => r.actor_id === user.id)).toBe(true);
    // The next step's code works.
    t.tick();
    await expect(t.login.mfaStep(late.challenge, { code: await t.code(secret) }, ctx)).resolves.toMatchObject({ userId: user.id });
  });

  it('locks the account after N failures (correct password then refused), audits the lockout, and unlock lifts it', async () => {
    const { db } = await open();
    const t = setup(db, { maxFailures: 3 });
    const user = await t.createUser('target');
    for (let i = 0; i < 3; i++) await expect(t.login.passwordStep('target', `wrong-${i}`, ctx)).rejects.toMatchObject({ status: 401 });
    const locked = await t.login.passwordStep('target', PASSWORD, ctx).catch((e: unknown) => e);
    expect(locked).toMatchObject({ status: 429, code: 'too_many_attempts' });
    expect((locked as { retryAfterSec: number }).retryAfterSec).toBeGreaterThan(50);
    const rows = await t.auditRows();
    expect(rows.map((r) => r.action)).toEqual(['auth.login.failure', 'auth.login.failure', 'auth.login.failure', 'auth.lockout', 'auth.login.failure']);
    expect(rows[3]).toMatchObject({ actor_id: user.id, outcome: 'denied', details: { scope: 'account' } });
    expect(rows[4]).toMatchObject({ outcome: 'denied', details: { reason: 'locked', scope: 'account' } });
    // Unknown names lock too, so a lock does not reveal which names exist.
    for (let i = 0; i < 3; i++) await t.login.passwordStep('ghost', 'x', ctx).catch(() => undefined);
    await expect(t.login.passwordStep('ghost', 'x', ctx)).rejects.toMatchObject({ status: 429 });
    expect(await t.throttle.unlock('target')).toBe(true);
    await expect(t.login.passwordStep('target', PASSWORD, ctx)).resolves.toMatchObject({ next: 'enroll' });
  });

  it('counts second-factor failures toward the account lockout', async () => {
    const { db } = await open();
    const t = setup(db, { maxFailures: 3 });
    const { secret } = await t.enrolled('mfa-guess');
    const { challenge } = await t.login.passwordStep('mfa-guess', PASSWORD, ctx);
    const wrong = String((Number(await t.code(secret)) + 1) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < 3; i++) await expect(t.login.mfaStep(challenge, { code: wrong }, ctx)).rejects.toMatchObject({ code: 'invalid_code' });
    await expect(t.login.mfaStep(challenge, { code: await t.code(secret) }, ctx)).rejects.toMatchObject({ status: 429 });
    await expect(t.login.passwordStep('mfa-guess', PASSWORD, ctx)).rejects.toMatchObject({ status: 429 });
    expect((await t.auditRows()).filter((r) => r.action === 'auth.lockout')).toHaveLength(1);
  });

  it('caps code attempts per challenge', async () => {
    const { db } = await open();
    const t = setup(db, { maxFailures: 50 });
    const { secret } = await t.enrolled('capped');
    const { challenge } = await t.login.passwordStep('capped', PASSWORD, ctx);
    for (let i = 0; i < 5; i++) await expect(t.login.mfaStep(challenge, { code: '000000' }, ctx)).rejects.toMatchObject({ code: 'invalid_code' });
    await expect(t.login.mfaStep(challenge, { code: await t.code(secret) }, ctx)).rejects.toMatchObject({ code: 'challenge_invalid' });
    expect((await t.auditRows()).at(-1)?.details).toEqual({ reason: 'challenge_exhausted' });
  });

  it('blocks an address that fails too often across accounts', async () => {
    const { db } = await open();
    const t = setup(db, { maxFailures: 50, perIp: 3 });
    for (const name of ['a1', 'a2', 'a3']) await t.login.passwordStep(name + 'xx', 'nope', ctx).catch(() => undefined);
    const err = await t.login.passwordStep('fresh-name', 'nope', ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429 });
    await expect(t.login.passwordStep('fresh-name', 'nope', { ...ctx, ip: '198.51.100.8' })).rejects.toMatchObject({ status: 401 });
    expect((await t.auditRows()).find((r) => r.action === 'auth.lockout')?.details).toEqual({ scope: 'ip' });
  });

  it('accepts each recovery code once and audits its use', async () => {
    const { db } = await open();
    const t = setup(db, { maxFailures: 10 });
    const { user, recoveryCodes } = await t.enrolled('lost-phone');
    const rc = recoveryCodes[0] ?? '';
    const first = await t.login.passwordStep('lost-phone', PASSWORD, ctx);
    expect(await t.login.mfaStep(first.challenge, { recoveryCode: rc.toLowerCase() }, ctx)).toEqual({
      userId: user.id,
      role: 'provider',
      method: 'recovery_code',
      remainingRecoveryCodes: 9,
    });
    const second = await t.login.passwordStep('lost-phone', PASSWORD, ctx);
    await expect(t.login.mfaStep(second.challenge, { recoveryCode: rc }, ctx)).rejects.toMatchObject({ code: 'invalid_code' });
    const rows = await t.auditRows();
    expect(rows.filter((r) => r.action === 'auth.mfa.recovery_use')).toEqual([expect.objectContaining({ actor_id: user.id, details: { remaining: 9 } })]);
    expect(rows.at(-1)?.details).toEqual({ reason: 'bad_recovery_code' });
    expect(JSON.stringify(rows)).not.toContain(rc);
  });

  it('regenerates recovery codes (old ones stop working) and audits it', async () => {
    const { db } = await open();
    const t = setup(db);
    const { user, recoveryCodes } = await t.enrolled('regen');
    const fresh = await t.login.regenerateRecoveryCodes(user.id, ctx);
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(recoveryCodes[0]);
    const c1 = await t.login.passwordStep('regen', PASSWORD, ctx);
    await expect(t.login.mfaStep(c1.challenge, { recoveryCode: recoveryCodes[0] ?? '' }, ctx)).rejects.toMatchObject({ code: 'invalid_code' });
    await expect(t.login.mfaStep(c1.challenge, { recoveryCode: fresh[0] ?? '' }, ctx)).resolves.toMatchObject({ userId: user.id });
    expect((await t.auditRows()).filter((r) => r.action === 'auth.mfa.recovery_regenerate')).toHaveLength(1);
  });

  it('refuses a second factor after the account was disabled between the steps', async () => {
    const { db } = await open();
    const t = setup(db);
    const { user, secret } = await t.enrolled('fired');
    const { challenge } = await t.login.passwordStep('fired', PASSWORD, ctx);
    await t.users.setStatus(user.id, 'disabled');
    await expect(t.login.mfaStep(challenge, { code: await t.code(secret) }, ctx)).rejects.toMatchObject({ status: 401 });
    expect((await t.auditRows()).at(-1)?.details).toEqual({ reason: 'disabled' });
  });

  it('reauthenticates with password and a fresh code, and audits both outcomes', async () => {
    const { db } = await open();
    const t = setup(db);
    const { user, secret } = await t.enrolled('breakglass');
    const c = await t.code(secret);
    await expect(t.login.reauthenticate(user.id, 'wrong password', c, ctx)).rejects.toMatchObject({ status: 401, code: 'invalid_credentials' });
    await expect(t.login.reauthenticate(user.id, PASSWORD, c, ctx)).resolves.toBeUndefined();
    await expect(t.login.reauthenticate(user.id, PASSWORD, c, ctx)).rejects.toMatchObject({ status: 401 }); // reused
    const rows = (await t.auditRows()).filter((r) => r.action === 'auth.reauth');
    expect(rows.map((r) => [r.outcome, r.details['reason'] ?? null])).toEqual([
      ['failure', 'bad_credentials'],
      ['success', null],
      ['failure', 'totp_reused'],
    ]);
  });

  it('re-hashes a password stored with older parameters on successful sign-in', async () => {
    const { db } = await open();
    const t = setup(db);
    const salt = randomBytes(16);
    const tag = argon2Sync('argon2id', { message: Buffer.from(PASSWORD), nonce: salt, memory: 8192, passes: 1, parallelism: 1, tagLength: 32 });
    const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
    const legacy = `$argon2id$v=19$m=8192,t=1,p=1$${b64(salt)}$${b64(tag)}`;
    const user = await t.createUser('legacy', { passwordHash: legacy });
    const before = await t.users.getById(user.id);
    await t.login.passwordStep('legacy', PASSWORD, ctx);
    const stored = (await t.users.getCredentials(user.id))?.passwordHash ?? '';
    expect(stored).toContain(`m=${ARGON2_PARAMS.m},t=${ARGON2_PARAMS.t},p=${ARGON2_PARAMS.p}`);
    expect(await verifyPassword(PASSWORD, stored)).toBe(true);
    expect((await t.users.getById(user.id))?.passwordChangedAt).toEqual(before?.passwordChangedAt);
  });
});
