/**
 * The two serving roles on one Redis: `telehealth start` (all-in-one) consumes the reminder
 * queues itself; `telehealth gateway` (scaled deployments) serves HTTP and leaves every reminder
 * to `telehealth worker` processes, so sending follows the workers' rate limits alone.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startAllInOne, type RunningProcess } from '../../bin/main.ts';
import { reminderQueues } from '../../core/campaigns/queue.ts';
import { loadConfig } from '../../core/config/load.ts';
import { createLogger } from '../../core/log/logger.ts';
import { connectRedis } from '../../core/redis/connect.ts';

const sink = new Writable({ write: (_c, _e, done) => done() });
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(reminders: boolean): Promise<{ running: RunningProcess; queuePrefix: string }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'th-role-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const tag = randomUUID().slice(0, 8);
  const queuePrefix = `{role-${tag}}`;
  const config = loadConfig({ APP_ENV: 'test', PORT: '0', DATA_DIR: dataDir, REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: `role-${tag}:`, QUEUE_PREFIX: queuePrefix, MEDIA_WORKERS: '1', LOG_LEVEL: 'silent' });
  const running = await startAllInOne(config, createLogger({ level: 'silent', destination: sink }), { reminders });
  cleanups.push(() => running.close('test'));
  return { running, queuePrefix };
}

async function reminderWorkers(queuePrefix: string): Promise<number> {
  const redis = await connectRedis(inject('redisUrl'));
  const queues = reminderQueues(redis, queuePrefix);
  try {
    return (await queues.of('sms').getWorkersCount()) + (await queues.of('email').getWorkersCount());
  } finally {
    await queues.close();
    redis.disconnect();
  }
}

describe('serving roles', () => {
  it('start consumes the reminder queues; gateway serves without consuming them', async () => {
    const allInOne = await serve(true);
    const gateway = await serve(false);
    for (const p of [allInOne, gateway]) expect((await fetch(`${p.running.url}/healthz`)).status).toBe(200);
    await expect.poll(() => reminderWorkers(allInOne.queuePrefix)).toBe(2);
    expect(await reminderWorkers(gateway.queuePrefix)).toBe(0);
  }, 90_000);
});
