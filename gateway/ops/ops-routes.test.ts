/**
 * GET /healthz against the real components (PGlite in memory, the test run's Redis), GET /readyz
 * through the lifecycle states, and the health runner's timeout.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dbHealth } from '../../core/db/health.ts';
import { openPglite } from '../../core/db/pglite.ts';
import type { Db } from '../../core/db/types.ts';
import type { HealthCheck } from '../../core/health.ts';
import { connectRedis, redisHealth, type Redis } from '../../core/redis/connect.ts';
import { afterTelemetry, testApp } from '../testing/harness.ts';
import { runHealthChecks } from './run-health.ts';

interface Report {
  status: string;
  components: Record<string, { status: string; latencyMs?: number; error?: string }>;
}

describe('GET /healthz', () => {
  let db: Db;
  let redis: Redis;
  beforeAll(async () => {
    db = await openPglite();
    redis = await connectRedis(inject('redisUrl'));
  });
  afterAll(async () => {
    redis.disconnect();
    await db.close();
  });

  it('is 200 with every component ok and its latency', async () => {
    const { app } = testApp({ health: [dbHealth(db), redisHealth(redis)] });
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Report;
    expect(body.status).toBe('ok');
    expect(Object.keys(body.components).sort()).toEqual(['db', 'redis']);
    for (const c of Object.values(body.components)) {
      expect(c.status).toBe('ok');
      expect(c.latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('is 503 naming the failed component when Redis is gone, the others still reported', async () => {
    const lost = await connectRedis(inject('redisUrl'));
    lost.disconnect();
    const { app, logs } = testApp({ health: [dbHealth(db), redisHealth(lost)] });
    const res = await app.request('/healthz');
    expect(res.status).toBe(503);
    const body = (await res.json()) as Report;
    expect(body.status).toBe('degraded');
    expect(body.components['db']?.status).toBe('ok');
    expect(body.components['redis']).toEqual({ status: 'error', error: expect.stringMatching(/closed|end/i) as unknown });
    await afterTelemetry();
    expect(logs.lines().find((l) => l['msg'] === 'health check failed')).toMatchObject({ level: 'warn', failed: ['redis'] });
    // The Redis URL carries a password; nothing about it may surface.
    expect(JSON.stringify(body)).not.toContain('redis://');
  });

  it('is 503 when the database is closed', async () => {
    const closed = await openPglite();
    await closed.close();
    const { app } = testApp({ health: [dbHealth(closed)] });
    const res = await app.request('/healthz');
    expect(res.status).toBe(503);
    expect(((await res.json()) as Report).components['db']?.status).toBe('error');
  });
});

describe('runHealthChecks', () => {
  it('bounds each check by the timeout and reports the others', async () => {
    const hangs: HealthCheck = { name: 'media', check: () => new Promise<void>(() => undefined) };
    const ok: HealthCheck = { name: 'db', check: () => Promise.resolve() };
    const started = performance.now();
    const report = await runHealthChecks([hangs, ok], 50);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(report.status).toBe('degraded');
    expect(report.components['media']).toEqual({ status: 'error', error: 'timed out after 50 ms' });
    expect(report.components['db']?.status).toBe('ok');
  });

  it('turns a synchronous throw into a component error', async () => {
    const throws: HealthCheck = {
      name: 'workers',
      check: () => {
        throw new Error('no worker heartbeat');
      },
    };
    expect(await runHealthChecks([throws])).toEqual({ status: 'degraded', components: { workers: { status: 'error', error: 'no worker heartbeat' } } });
  });

  it('is ok with no components', async () => {
    expect(await runHealthChecks([])).toEqual({ status: 'ok', components: {} });
  });
});

describe('GET /readyz', () => {
  it('follows the lifecycle: 503 starting, 200 ready, 503 draining', async () => {
    const { app, lifecycle } = testApp();
    const status = async () => {
      const res = await app.request('/readyz');
      return [res.status, ((await res.json()) as { status: string }).status];
    };
    expect(await status()).toEqual([503, 'starting']);
    lifecycle.state = 'ready';
    expect(await status()).toEqual([200, 'ready']);
    lifecycle.state = 'draining';
    expect(await status()).toEqual([503, 'draining']);
  });
});
