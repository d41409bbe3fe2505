/**
 * The messaging retention job: a BullMQ job scheduler (hourly by default) whose one job deletes
 * envelopes no device acknowledged within MESSAGE_TTL_DAYS and attachments past their expiry,
 * and records the counts in the audit chain (system actor `retention`) in the same transaction.
 * BullMQ runs each scheduled job once across any number of worker processes; the deletes are
 * idempotent, so a retried job is harmless. Runs that delete nothing leave no audit record (an
 * hourly "0, 0" would bury the chain in noise); the scheduler itself is visible in Redis.
 */
import { Queue, Worker } from 'bullmq';
import { AuditAction, type AuditLog } from '../../core/audit/index.ts';
import type { Db } from '../../core/db/types.ts';
import type { Logger } from '../../core/log/logger.ts';
import { bullConnection } from '../../core/redis/bullmq-connection.ts';
import type { Redis } from '../../core/redis/connect.ts';

export interface EnvelopePurgeDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly log: Logger;
  /** A Redis connection to copy settings from; BullMQ opens (and closes) its own connections. */
  readonly redis: Redis;
  readonly messageTtlDays: number;
  /** BullMQ key prefix (a hash tag keeps a queue's keys in one Redis Cluster slot). Default `{th}`. */
  readonly prefix?: string;
  /** Default `retention`. */
  readonly queueName?: string;
  /** Default one hour. */
  readonly everyMs?: number;
}

export interface PurgeCounts {
  readonly envelopes: number;
  readonly attachments: number;
}

export interface EnvelopePurge {
  /** Starts the worker and (re)defines the schedule. */
  start(): Promise<void>;
  /** One purge now (what the scheduled job runs). */
  runOnce(now?: Date): Promise<PurgeCounts>;
  /** Idempotent. */
  close(): Promise<void>;
}

const SCHEDULER_ID = 'envelope-purge';
const DAY_MS = 86_400_000;

/** Deletes expired envelopes and attachments and audits the counts, in one transaction. */
export async function purgeExpired(db: Db, audit: AuditLog, ttlDays: number, now: Date = new Date()): Promise<PurgeCounts> {
  const cutoff = new Date(now.getTime() - ttlDays * DAY_MS);
  return db.transaction(async (tx) => {
    const [e] = await tx.query<{ n: number }>('WITH gone AS (DELETE FROM envelopes WHERE server_ts < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone', [cutoff]);
    const [a] = await tx.query<{ n: number }>('WITH gone AS (DELETE FROM attachments WHERE expires_at <= $1 RETURNING 1) SELECT count(*)::int AS n FROM gone', [now]);
    const counts = { envelopes: e?.n ?? 0, attachments: a?.n ?? 0 };
    if (counts.envelopes + counts.attachments > 0) {
      await audit.append(
        { actorType: 'system', actorId: 'retention', action: AuditAction.messagePurge, resourceType: 'system', outcome: 'success', details: { ...counts, ttlDays } },
        tx,
      );
    }
    return counts;
  });
}

export function createEnvelopePurge(deps: EnvelopePurgeDeps): EnvelopePurge {
  const prefix = deps.prefix ?? '{th}';
  const queueName = deps.queueName ?? 'retention';
  const runOnce = (now?: Date): Promise<PurgeCounts> => purgeExpired(deps.db, deps.audit, deps.messageTtlDays, now);
  let queue: Queue | undefined;
  let worker: Worker | undefined;
  let closed: Promise<void> | undefined;

  return {
    runOnce,
    async start() {
      if (closed !== undefined) throw new Error('envelope purge is closed');
      if (worker !== undefined) return;
      const connection = bullConnection(deps.redis);
      queue = new Queue(queueName, { connection, prefix });
      worker = new Worker(
        queueName,
        async () => {
          const counts = await runOnce();
          if (counts.envelopes + counts.attachments > 0) deps.log.info(counts, 'expired envelopes and attachments purged');
          return counts;
        },
        { connection, prefix, concurrency: 1 },
      );
      worker.on('failed', (_job, err) => deps.log.error({ err }, 'envelope purge job failed'));
      worker.on('error', (err) => deps.log.error({ err }, 'envelope purge worker error'));
      await queue.upsertJobScheduler(
        SCHEDULER_ID,
        { every: deps.everyMs ?? 3_600_000 },
        { name: 'purge', opts: { removeOnComplete: 100, removeOnFail: 100, attempts: 3, backoff: { type: 'exponential', delay: 10_000 } } },
      );
    },
    close() {
      closed ??= (async () => {
        await worker?.close();
        await queue?.close();
      })();
      return closed;
    },
  };
}
