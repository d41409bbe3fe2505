/**
 * Composition root of the all-in-one process (`npm start` / `telehealth start`): load nothing
 * global, build every dependency once from the frozen config and pass it down. Later issues add
 * media and more workers here; the scaled entry points reuse the same builders.
 *
 * Start order: data dir → Redis → database + migrations → audit (system.start, checkpoints) →
 * HTTP. Close order is the reverse, each step idempotent, so a failure half-way through start-up
 * still releases what was opened (the private redis-server, the PGlite lock).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createAuditLog, createCheckpointer, loadOrCreateSigningKey, startCheckpointTimer, AuditAction } from '../core/audit/index.ts';
import type { Config } from '../core/config/schema.ts';
import { dbHealth } from '../core/db/health.ts';
import { migrate } from '../core/db/migrate.ts';
import { openDatabase } from '../core/db/open.ts';
import type { Logger } from '../core/log/logger.ts';
import { redisHealth } from '../core/redis/connect.ts';
import { provideRedis } from '../core/redis/provide.ts';
import { loadMasterKeyring } from '../core/crypto/index.ts';
import { createApp, createLifecycle } from '../gateway/app.ts';
import { createFeatures } from '../gateway/features.ts';
import { startHttpServer } from '../gateway/server.ts';
import { createMediaService, WorkerBinaryMissingError } from '../media/index.ts';
import { StartupError } from '../core/errors.ts';
import { createEnvelopePurge } from '../workers/retention/envelope-purge.ts';
import { createReminderRuntime } from '../workers/reminders/runtime.ts';
import pkg from '../package.json' with { type: 'json' };

export interface RunningProcess {
  readonly url: string;
  readonly port: number;
  /** Idempotent graceful stop; `reason` is recorded in the audit chain. */
  close(reason?: string): Promise<void>;
}

type Closer = () => Promise<void>;

/** Run closers newest-first; every one runs even if an earlier one fails; the first error is rethrown. */
async function closeAll(closers: Closer[]): Promise<void> {
  let first: unknown;
  for (const close of closers.splice(0).reverse()) {
    try {
      await close();
    } catch (err) {
      first ??= err;
    }
  }
  if (first instanceof Error) throw first;
  if (first !== undefined) throw new Error("close failed", { cause: first });
}

export interface StartOptions {
  /**
   * Deliver reminders in this process (default true: the all-in-one). `telehealth gateway` sets
   * false for scaled deployments, where `telehealth worker` processes do all the sending.
   */
  readonly reminders?: boolean;
}

export async function startAllInOne(config: Config, log: Logger, options: StartOptions = {}): Promise<RunningProcess> {
  const closers: Closer[] = [];
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    if (config.env === 'development') log.warn('APP_ENV=development: plain HTTP on loopback only; set APP_ENV=production for real patient data');

    const redis = await provideRedis(config, log);
    closers.push(() => redis.close());

    const db = await openDatabase(config, 'telehealth-gateway');
    closers.push(() => db.close());
    const migrated = await migrate(db);
    log.info({ engine: db.kind, version: migrated.current, applied: migrated.applied }, 'database ready');

    const audit = createAuditLog(db);
    const key = loadOrCreateSigningKey(config.auditKeyPath);
    const checkpointer = createCheckpointer(db, key);
    if (migrated.applied.length > 0) {
      await audit.append({
        actorType: 'system',
        actorId: 'gateway',
        action: AuditAction.systemDbMigrate,
        outcome: 'success',
        details: { applied: migrated.applied.join(','), version: migrated.current },
      });
    }
    await audit.append({
      actorType: 'system',
      actorId: 'gateway',
      action: AuditAction.systemStart,
      outcome: 'success',
      details: { version: pkg.version, engine: db.kind, mode: config.env },
    });
    const timer = startCheckpointTimer(checkpointer, {
      intervalMs: config.auditCheckpointIntervalSec * 1000,
      onError: (err) => log.error({ err }, 'audit checkpoint failed'),
    });
    closers.push(async () => {
      await timer.stop();
      // A signed checkpoint of the final head, so truncation after shutdown is detectable.
      await checkpointer.checkpoint();
    });

    const keyring = loadMasterKeyring(config);
    // Video visits: mediasoup workers in this process (one per core by default).
    const media = createMediaService(config, log);
    closers.push(() => media.close());
    try {
      await media.start();
    } catch (err) {
      if (err instanceof WorkerBinaryMissingError) throw new StartupError('video visits need the mediasoup worker', err.message, { cause: err });
      throw err;
    }

    let listenUrl = '';
    const features = createFeatures({ config, db, redis: redis.client, log, audit, keyring, checkpointKeys: [key.publicKey], listenUrl: () => listenUrl, media, keyPrefix: config.redisKeyPrefix, webDistDir: fileURLToPath(new URL('../web-client/dist', import.meta.url)) });
    closers.push(() => features.close());
    await features.ready();
    features.identity.sessions.startSweeper(config.sessionSweepIntervalMs);

    // Retention (envelopes nobody acknowledged, expired attachments) runs in this process in the
    // all-in-one mode; BullMQ's scheduler makes it run once per period however many processes start it.
    const purge = createEnvelopePurge({ db, audit, log, redis: redis.client, messageTtlDays: config.messageTtlDays });
    closers.push(() => purge.close());
    await purge.start();

    const lifecycle = createLifecycle();
    const app = createApp({ config, log, health: [dbHealth(db), redisHealth(redis.client)], metrics: new Registry(), lifecycle }, features.routes);
    const server = await startHttpServer(app, { config, log, lifecycle });
    listenUrl = server.url;
    closers.push(() => server.close());
    const hub = features.hub;
    hub.attach(server.server);

    // Reminder delivery runs in this process in the all-in-one mode (BullMQ spreads jobs over
    // however many worker processes run; each delivery row makes a re-run safe).
    if (options.reminders !== false) {
      const reminders = createReminderRuntime({ config, db, redis: redis.client, audit, keyring, log, publicOrigin: new URL(config.publicUrl ?? server.url).origin });
      closers.push(() => reminders.close());
    }
    log.info({ url: server.url, engine: db.kind, redis: redis.embedded ? 'private' : 'external' }, 'telehealth gateway listening');

    let closing: Promise<void> | undefined;
    return {
      url: server.url,
      port: server.port,
      close(reason = 'shutdown') {
        closing ??= (async () => {
          // Stop taking requests first; then record the stop while the database is still open.
          await hub.close();
          await server.close();
          await audit.append({ actorType: 'system', actorId: 'gateway', action: AuditAction.systemStop, outcome: 'success', details: { reason } });
          await closeAll(closers);
        })();
        return closing;
      },
    };
  } catch (err) {
    await closeAll(closers).catch((closeErr: unknown) => log.error({ err: closeErr }, 'cleanup after failed start-up also failed'));
    throw err;
  }
}
