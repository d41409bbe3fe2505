import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { createChallengeStore } from './login-challenge.ts';

let redis: Redis;
beforeAll(async () => {
  redis = await connectRedis(inject('redisUrl'));
});
afterAll(() => redis.disconnect());

const make = (over: { ttlSec?: number; maxAttempts?: number } = {}) => {
  const keyPrefix = `test-${randomUUID()}`;
  return { keyPrefix, store: createChallengeStore({ redis, keyPrefix, ...over }) };
};

describe('login challenges', () => {
  it('creates a 256-bit token, stores only its hash, and peeks without consuming', async () => {
    const { store, keyPrefix } = make();
    const userId = randomUUID();
    const token = await store.create({ userId, stage: 'mfa' });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await store.peek(token)).toEqual({ userId, stage: 'mfa', attempts: 0 });
    expect(await store.peek(token)).toEqual({ userId, stage: 'mfa', attempts: 0 });
    const keys = await redis.keys(`${keyPrefix}:*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain(token);
    const ttl = await redis.ttl(keys[0] ?? '');
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it('is consumed exactly once, even concurrently', async () => {
    const { store } = make();
    const token = await store.create({ userId: randomUUID(), stage: 'enroll' });
    const results = await Promise.all(Array.from({ length: 6 }, () => store.consume(token)));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(results.find((r) => r !== null)).toMatchObject({ stage: 'enroll' });
    expect(await store.peek(token)).toBeNull();
  });

  it('allows at most maxAttempts code attempts, then disappears', async () => {
    const { store } = make({ maxAttempts: 5 });
    const token = await store.create({ userId: randomUUID(), stage: 'mfa' });
    for (let i = 1; i <= 5; i++) expect(await store.recordAttempt(token)).toMatchObject({ attempts: i });
    expect(await store.recordAttempt(token)).toBeNull();
    expect(await store.peek(token)).toBeNull();
    expect(await store.recordAttempt(token)).toBeNull();
  });

  it('expires after its TTL and does not resurrect on a late attempt', async () => {
    const { store, keyPrefix } = make({ ttlSec: 1 });
    const token = await store.create({ userId: randomUUID(), stage: 'mfa' });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await store.peek(token)).toBeNull();
    expect(await store.recordAttempt(token)).toBeNull();
    expect(await store.consume(token)).toBeNull();
    expect(await redis.keys(`${keyPrefix}:*`)).toEqual([]);
  });

  it('treats unknown and malformed tokens as absent', async () => {
    const { store } = make();
    for (const bad of ['', 'short', 'x'.repeat(43), 'a'.repeat(10_000), '../../etc']) {
      expect(await store.peek(bad)).toBeNull();
      expect(await store.consume(bad)).toBeNull();
      expect(await store.recordAttempt(bad)).toBeNull();
    }
  });
});
