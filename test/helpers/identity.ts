/**
 * For identity and access test suites: a fresh harness (PGlite database, real Redis with its own
 * key prefix, every identity route) before each test, closed and dropped after it.
 */
import { afterEach, beforeEach, inject } from 'vitest';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { identityHarness } from '../../gateway/testing/identity-harness.ts';
import { openTestDb, type TestDb } from './databases.ts';

export type IdentityHarness = ReturnType<typeof identityHarness> & { readonly db: TestDb['db'] };

/** Returns a getter for the current test's harness; `routes` mounts a feature's modules beside the identity ones. */
export function identityPerTest(env: Readonly<Record<string, string>> = {}, routes?: Parameters<typeof identityHarness>[0]['routes']): () => IdentityHarness {
  let current: { t: TestDb; redis: Redis; h: IdentityHarness } | undefined;
  beforeEach(async () => {
    const t = await openTestDb('pglite');
    const redis = await connectRedis(inject('redisUrl'));
    current = { t, redis, h: { ...identityHarness({ db: t.db, redis, env, ...(routes === undefined ? {} : { routes }) }), db: t.db } };
  });
  afterEach(async () => {
    if (current === undefined) return;
    const { t, redis, h } = current;
    current = undefined;
    await h.close();
    redis.disconnect();
    await t.dispose();
  });
  return () => {
    if (current === undefined) throw new Error('identity harness used outside a test');
    return current.h;
  };
}
