import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { createLoginThrottle } from './login-throttle.ts';

let redis: Redis;
beforeAll(async () => {
  redis = await connectRedis(inject('redisUrl'));
});
afterAll(() => redis.disconnect());

const config = (over: Partial<{ loginMaxFailures: number; loginLockoutSec: number; loginMaxFailuresPerIp: number }> = {}) => ({
  loginMaxFailures: 3,
  loginLockoutSec: 60,
  loginMaxFailuresPerIp: 100,
  ...over,
});
const make = (over: Parameters<typeof config>[0] = {}) => createLoginThrottle({ redis, config: config(over), keyPrefix: `test-${randomUUID()}` });

describe('login throttle', () => {
  it('locks an account after N failures for the lockout period, and reports the lock once', async () => {
    const t = make();
    expect(await t.check('alice', '10.0.0.1')).toEqual({ allowed: true });
    expect(await t.recordFailure('alice', '10.0.0.1')).toEqual({ lockedNow: false });
    expect(await t.recordFailure('Alice ', '10.0.0.2')).toEqual({ lockedNow: false });
    expect(await t.check('alice', '10.0.0.3')).toEqual({ allowed: true });
    expect(await t.recordFailure('ALICE', '10.0.0.3')).toEqual({ lockedNow: true, scope: 'account' });
    const d = await t.check('alice', '10.0.0.4');
    expect(d).toMatchObject({ allowed: false, scope: 'account' });
    if (!d.allowed) expect(d.retryAfterSec).toBeGreaterThan(55);
    expect(await t.recordFailure('alice', '10.0.0.4')).toEqual({ lockedNow: false });
    // Other accounts are unaffected.
    expect(await t.check('bob', '10.0.0.4')).toEqual({ allowed: true });
  });

  it('locks unknown usernames the same way (no existence oracle)', async () => {
    const t = make({ loginMaxFailures: 1 });
    expect(await t.recordFailure('no-such-user', '10.0.0.1')).toEqual({ lockedNow: true, scope: 'account' });
    expect(await t.check('no-such-user', '10.0.0.9')).toMatchObject({ allowed: false, scope: 'account' });
  });

  it('reports exactly one lockout when failures race', async () => {
    const t = make({ loginMaxFailures: 5 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => t.recordFailure('carol', `10.0.1.${i}`)));
    expect(results.filter((r) => r.lockedNow)).toHaveLength(1);
  });

  it('lifts the lock after the lockout period', async () => {
    const t = make({ loginMaxFailures: 1, loginLockoutSec: 1 });
    await t.recordFailure('dave', '10.0.0.1');
    expect((await t.check('dave', '10.0.0.1')).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await t.check('dave', '10.0.0.1')).toEqual({ allowed: true });
  });

  it('blocks an address after its hourly failure budget, across usernames', async () => {
    const t = make({ loginMaxFailuresPerIp: 4, loginMaxFailures: 100 });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await t.recordFailure(`user${i}`, '192.0.2.7'));
    expect(results.map((r) => r.lockedNow)).toEqual([false, false, false, true]);
    expect(results[3]).toEqual({ lockedNow: true, scope: 'ip' });
    const d = await t.check('someone-else', '192.0.2.7');
    expect(d).toMatchObject({ allowed: false, scope: 'ip' });
    if (!d.allowed) expect(d.retryAfterSec).toBeGreaterThan(3500);
    expect(await t.check('someone-else', '192.0.2.8')).toEqual({ allowed: true });
  });

  it('success resets the account counter; unlock lifts a lock', async () => {
    const t = make({ loginMaxFailures: 2 });
    await t.recordFailure('erin', '10.0.0.1');
    await t.recordSuccess('erin');
    expect(await t.recordFailure('erin', '10.0.0.1')).toEqual({ lockedNow: false });
    expect(await t.recordFailure('erin', '10.0.0.1')).toEqual({ lockedNow: true, scope: 'account' });
    expect((await t.check('erin', '10.0.0.1')).allowed).toBe(false);
    expect(await t.unlock('erin')).toBe(true);
    expect(await t.check('erin', '10.0.0.1')).toEqual({ allowed: true });
    expect(await t.unlock('erin')).toBe(false);
  });

  it('fails closed with a 503 when Redis is unreachable', async () => {
    const dead = await connectRedis(inject('redisUrl'), { maxRetriesPerRequest: 0, retryStrategy: () => null });
    const t = createLoginThrottle({ redis: dead, config: config(), keyPrefix: `test-${randomUUID()}` });
    dead.disconnect();
    await expect(t.check('frank', '10.0.0.1')).rejects.toMatchObject({ status: 503, code: 'service_unavailable' });
    await expect(t.recordFailure('frank', '10.0.0.1')).rejects.toMatchObject({ status: 503 });
    await expect(t.recordSuccess('frank')).rejects.toMatchObject({ status: 503 });
  });
});
