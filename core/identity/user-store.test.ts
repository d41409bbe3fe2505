import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { AppError } from '../errors.ts';
import { createUserStore, UsernameTakenError, type NewStaff } from './user-store.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const staff = (over: Partial<NewStaff> = {}): NewStaff => ({
  username: `u${randomUUID().slice(0, 8)}`,
  displayName: 'Dr Test',
  role: 'provider',
  passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
  createdBy: null,
  ...over,
});

describe.each(ENGINES)('user store (%s)', (kind) => {
  const open = testDbPerTest(kind);

  it('creates a staff user with a lower-cased name and never exposes secrets in the view', async () => {
    const { db } = await open();
    const users = createUserStore(db);
    const u = await users.createStaff(staff({ username: '  Dr.Who-1 ', displayName: ' Dr Who ' }));
    expect(u).toMatchObject({ kind: 'staff', username: 'dr.who-1', displayName: 'Dr Who', role: 'provider', status: 'active', mfaEnrolled: false });
    expect(u.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(u)).not.toContain('passwordHash');
    expect(JSON.stringify(u)).not.toContain('argon2');
    expect(await users.getById(u.id)).toEqual(u);
    expect(await users.findByUsername('DR.WHO-1')).toEqual(u);
    expect(await users.findByUsername('nobody')).toBeNull();
    expect(await users.getById('not-a-uuid')).toBeNull();
    const creds = await users.getCredentials(u.id);
    expect(creds).toMatchObject({ userId: u.id, passwordHash: staff().passwordHash, totpSecret: null, totpLastStep: null });
    expect(await users.getCredentialsByUsername('Dr.Who-1')).toEqual(creds);
  });

  it('refuses a duplicate username (any case) with a 409 and leaves a caller transaction usable', async () => {
    const { db } = await open();
    const users = createUserStore(db);
    await users.createStaff(staff({ username: 'alice' }));
    await expect(users.createStaff(staff({ username: 'ALICE' }))).rejects.toBeInstanceOf(UsernameTakenError);
    const other = await db.transaction(async (tx) => {
      await expect(users.createStaff(staff({ username: 'alice' }), tx)).rejects.toMatchObject({ status: 409 });
      return users.createStaff(staff({ username: 'bob' }), tx);
    });
    expect(await users.getById(other.id)).not.toBeNull();
  });

  it('validates username, display name and role', async () => {
    const { db } = await open();
    const users = createUserStore(db);
    for (const bad of [staff({ username: 'ab' }), staff({ username: 'has space' }), staff({ username: '-lead' }), staff({ displayName: '  ' }), staff({ displayName: 'x'.repeat(129) })]) {
      await expect(users.createStaff(bad)).rejects.toMatchObject({ status: 400, code: 'validation_failed' });
    }
    await expect(users.createStaff(staff({ role: 'patient' as never }))).rejects.toBeInstanceOf(AppError);
  });

  it('lists, filters and updates role, status, display name and password hash', async () => {
    const { db } = await open();
    const users = createUserStore(db);
    const a = await users.createStaff(staff({ username: 'a-admin', role: 'admin' }));
    const b = await users.createStaff(staff({ username: 'b-prov', role: 'provider', createdBy: a.id }));
    expect(b.createdBy).toBe(a.id);
    expect((await users.listStaff()).map((u) => u.username)).toEqual(['a-admin', 'b-prov']);
    expect((await users.listStaff({ role: 'admin' })).map((u) => u.id)).toEqual([a.id]);
    expect(await users.setRole(b.id, 'auditor')).toMatchObject({ role: 'auditor' });
    expect(await users.setStatus(b.id, 'disabled')).toMatchObject({ status: 'disabled' });
    expect((await users.listStaff({ status: 'disabled' })).map((u) => u.id)).toEqual([b.id]);
    expect((await users.listStaff({ role: 'auditor', status: 'active' }))).toEqual([]);
    expect(await users.setDisplayName(b.id, 'Dr B')).toMatchObject({ displayName: 'Dr B' });
    expect(await users.setRole(randomUUID(), 'admin')).toBeNull();

    const before = await users.getById(b.id);
    expect(await users.setPasswordHash(b.id, 'rehash', { changed: false })).toBe(true);
    expect((await users.getById(b.id))?.passwordChangedAt).toEqual(before?.passwordChangedAt);
    expect((await users.getCredentials(b.id))?.passwordHash).toBe('rehash');
    expect(await users.setPasswordHash(randomUUID(), 'x')).toBe(false);
  });

  it('enrolls TOTP once, confirms only the secret that was checked, and resets MFA completely', async () => {
    const { db } = await open();
    const users = createUserStore(db);
    const u = await users.createStaff(staff());
    const first = randomBytes(40);
    const second = randomBytes(40);
    expect(await users.acceptTotpStep(u.id, 10)).toBe(false); // not enrolled
    expect(await users.startTotpEnrollment(u.id, first)).toBe(true);
    expect(await users.startTotpEnrollment(u.id, second)).toBe(true); // restarted before confirming
    expect(await users.confirmTotpEnrollment(u.id, 100, first)).toBe(false); // stale secret
    expect(await users.confirmTotpEnrollment(u.id, 100, second)).toBe(true);
    expect(await users.startTotpEnrollment(u.id, first)).toBe(false); // already enrolled
    expect(await users.confirmTotpEnrollment(u.id, 101, second)).toBe(false);
    expect(await users.getById(u.id)).toMatchObject({ mfaEnrolled: true });
    expect(await users.getCredentials(u.id)).toMatchObject({ totpSecret: second, totpLastStep: 100 });

    await users.replaceRecoveryCodes(u.id, [sha('a'), sha('b')]);
    expect(await users.resetMfa(u.id)).toBe(true);
    expect(await users.getCredentials(u.id)).toMatchObject({ totpSecret: null, mfaEnrolledAt: null, totpLastStep: null });
    expect(await users.remainingRecoveryCodes(u.id)).toBe(0);
    expect(await users.startTotpEnrollment(u.id, first)).toBe(true);
  });

  it('accepts each TOTP step at most once and never an older one', async () => {
    const { db } = await open();
    const users = createUserStore(db);
    const u = await users.createStaff(staff());
    const secret = randomBytes(40);
    await users.startTotpEnrollment(u.id, secret);
    await users.confirmTotpEnrollment(u.id, 1000, secret);
    expect(await users.acceptTotpStep(u.id, 1000)).toBe(false); // the enrollment code itself
    expect(await users.acceptTotpStep(u.id, 1001)).toBe(true);
    expect(await users.acceptTotpStep(u.id, 1001)).toBe(false);
    expect(await users.acceptTotpStep(u.id, 1000)).toBe(false);
    expect(await users.acceptTotpStep(u.id, 1_750_000_000)).toBe(true); // beyond int4
  });

  it('accepts a TOTP step exactly once under concurrency', async () => {
    const { db } = await open();
    const users = createUserStore(db);
    const u = await users.createStaff(staff());
    const secret = randomBytes(40);
    await users.startTotpEnrollment(u.id, secret);
    await users.confirmTotpEnrollment(u.id, 5, secret);
    for (const step of [6, 7, 8]) {
      const results = await Promise.all(Array.from({ length: 8 }, () => users.acceptTotpStep(u.id, step)));
      expect(results.filter(Boolean)).toHaveLength(1);
    }
  });

  it('replaces recovery codes and consumes each exactly once, even concurrently', async () => {
    const { db } = await open();
    const users = createUserStore(db);
    const u = await users.createStaff(staff());
    const other = await users.createStaff(staff());
    const hashes = ['1', '2', '3'].map(sha);
    await users.replaceRecoveryCodes(u.id, hashes);
    expect(await users.remainingRecoveryCodes(u.id)).toBe(3);
    expect(await users.consumeRecoveryCode(other.id, sha('1'))).toBe(false); // another user's code
    const results = await Promise.all(Array.from({ length: 6 }, () => users.consumeRecoveryCode(u.id, sha('1'))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await users.consumeRecoveryCode(u.id, sha('1'))).toBe(false);
    expect(await users.consumeRecoveryCode(u.id, sha('nope'))).toBe(false);
    expect(await users.remainingRecoveryCodes(u.id)).toBe(2);

    await db.transaction((tx) => users.replaceRecoveryCodes(u.id, [sha('4')], tx));
    expect(await users.remainingRecoveryCodes(u.id)).toBe(1);
    expect(await users.consumeRecoveryCode(u.id, sha('2'))).toBe(false); // old set gone
    expect(() => users.replaceRecoveryCodes(u.id, ['not-a-hash'])).toThrow();
  });
});
