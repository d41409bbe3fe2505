/** `telehealth worker`: a reminder delivery process on the shared database and Redis. */
import { parseArgs } from 'node:util';
import { createAuditLog } from '../../core/audit/index.ts';
import { loadConfig } from '../../core/config/load.ts';
import { loadMasterKeyring } from '../../core/crypto/index.ts';
import { openDatabase } from '../../core/db/open.ts';
import { migrate } from '../../core/db/migrate.ts';
import { StartupError } from '../../core/errors.ts';
import { createLogger } from '../../core/log/logger.ts';
import { connectRedis } from '../../core/redis/connect.ts';
import { createReminderRuntime } from '../../workers/reminders/runtime.ts';
import { DEFAULT_CONCURRENCY } from '../../workers/reminders/worker.ts';
import type { Command } from './types.ts';

export const workerCommands: Command[] = [
  {
    words: ['worker'],
    summary: 'run a reminder delivery worker (scale out: as many as you like, on shared PostgreSQL and Redis)',
    help: `Usage: telehealth worker [--concurrency N]

Takes reminder jobs from the shared queues (one per channel, each with its own rate limit:
REMINDER_SMS_PER_SECOND, REMINDER_EMAIL_PER_SECOND) and delivers them: consent, appointment and quiet
hours re-checked at send time, PHI-linted text, Twilio (SMS) and SMTP (email) as configured.
Needs DATABASE_URL (PostgreSQL: PGlite cannot be shared between processes), REDIS_URL, the
same MASTER_KEY as the gateway, and PUBLIC_URL (the portal and unsubscribe links).

A worker killed at any point is safe: its jobs are handed to another worker after
REMINDER_JOB_LOCK_SECONDS, and a delivery that may already have reached the provider is
reconciled with it instead of being sent again.

Options:
  --concurrency N   jobs in flight per channel in this process (default 64; sends wait on the
                    provider, and concurrent jobs share their database round trips)

Exit codes: 0 clean shutdown (SIGTERM/SIGINT), 2 configuration problem.`,
    async run(ctx) {
      const { values } = parseArgs({ args: [...ctx.argv], options: { concurrency: { type: 'string' } }, strict: true, allowPositionals: false });
      const concurrency = values.concurrency === undefined ? DEFAULT_CONCURRENCY : Number(values.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new StartupError('--concurrency must be a whole number from 1 to 256');
      const cfg = loadConfig(ctx.env);
      if (cfg.databaseUrl === undefined) throw new StartupError('a worker process needs DATABASE_URL', 'PGlite belongs to one process; run workers against PostgreSQL');
      if (cfg.redisUrl === undefined) throw new StartupError('a worker process needs REDIS_URL', 'point it at the Redis the gateway uses');
      if (cfg.publicUrl === undefined) throw new StartupError('a worker process needs PUBLIC_URL', 'the gateway origin patients reach (links in reminders)');
      const log = createLogger({ level: cfg.logLevel, name: 'telehealth-worker' });
      const db = await openDatabase(cfg, 'telehealth-worker');
      const redis = await connectRedis(cfg.redisUrl);
      try {
        await migrate(db);
        const runtime = createReminderRuntime({ config: cfg, db, redis, audit: createAuditLog(db), keyring: loadMasterKeyring(cfg), log, publicOrigin: new URL(cfg.publicUrl).origin, concurrency });
        ctx.stderr.write(`telehealth worker running (concurrency ${concurrency}). Ctrl-C to stop.\n`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
        await runtime.close();
      } finally {
        await redis.quit();
        await db.close();
      }
      return 0;
    },
  },
];
