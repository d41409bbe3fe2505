/**
 * The BullMQ side of reminder delivery for one channel's queue: runs `processDelivery` per job
 * under that channel's rate limit (BullMQ's limiter is per queue, hence a queue per channel), moves quiet-hours deliveries to the delayed set (never dropped), turns permanent
 * provider refusals into UnrecoverableError (straight to the dead-letter view) and retries the
 * rest with exponential backoff plus jitter (honouring a provider's Retry-After). A worker killed
 * mid-job leaves a stalled job that BullMQ hands to another worker; the delivery row makes that
 * re-run safe (see processor.ts).
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { DEFAULT_BULL_PREFIX, REMINDER_QUEUES, type DeliveryJob } from '../../core/campaigns/queue.ts';
import type { Channel } from '../../core/campaigns/store.ts';
import type { Logger } from '../../core/log/logger.ts';
import { bullConnection } from '../../core/redis/bullmq-connection.ts';
import type { Redis } from '../../core/redis/connect.ts';
import { PermanentSendError, processDelivery, RetryableSendError, type Outcome, type ProcessorPorts } from './processor.ts';

export interface ReminderWorkerOptions {
  readonly channel: Channel;
  readonly redis: Redis;
  readonly ports: ProcessorPorts;
  readonly log: Logger;
  readonly prefix?: string;
  /** Jobs in flight (default 64): sends wait on the provider, and concurrent jobs share their database round trips. */
  readonly concurrency?: number;
  /** Provider calls per `durationMs` on this channel across all workers (Twilio long codes: about 1 per second). */
  readonly limiter?: { readonly max: number; readonly durationMs: number };
  /** First retry delay; doubles per attempt, with ±50% jitter. */
  readonly backoffBaseMs?: number;
  readonly onOutcome?: (job: DeliveryJob, outcome: Outcome) => void;
  /** Job lock; a dead worker's active jobs are handed on after about this long (BullMQ stalled check). Default 30 s. */
  readonly lockMs?: number;
}

export interface ReminderWorker {
  readonly worker: Worker<DeliveryJob>;
  close(): Promise<void>;
}

/** Jobs in flight per channel worker when not configured. */
export const DEFAULT_CONCURRENCY = 64;

export function backoffDelay(attemptsMade: number, baseMs: number, err: Error | undefined, random: () => number = Math.random): number {
  if (err instanceof RetryableSendError && err.retryAfterMs !== undefined) return err.retryAfterMs;
  const exp = baseMs * 2 ** Math.max(0, attemptsMade - 1);
  return Math.round(Math.min(exp, 3_600_000) * (0.5 + random()));
}

export function createReminderWorker(opts: ReminderWorkerOptions): ReminderWorker {
  const { log } = opts;
  const baseMs = opts.backoffBaseMs ?? 5_000;
  const worker = new Worker<DeliveryJob>(
    REMINDER_QUEUES[opts.channel],
    async (job: Job<DeliveryJob>, token?: string) => {
      let outcome: Outcome;
      try {
        outcome = await processDelivery(job.data.deliveryId, opts.ports);
      } catch (err) {
        if (err instanceof PermanentSendError) throw new UnrecoverableError(`provider refused: ${err.code}`);
        throw err;
      }
      opts.onOutcome?.(job.data, outcome);
      if (outcome.kind === 'delayed') {
        await job.moveToDelayed(outcome.until.getTime(), token);
        throw new DelayedError();
      }
      return outcome.kind;
    },
    {
      connection: bullConnection(opts.redis),
      prefix: opts.prefix ?? DEFAULT_BULL_PREFIX,
      concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
      lockDuration: opts.lockMs ?? 30_000,
      stalledInterval: opts.lockMs ?? 30_000,
      ...(opts.limiter === undefined ? {} : { limiter: { max: opts.limiter.max, duration: opts.limiter.durationMs } }),
      settings: { backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) => backoffDelay(attemptsMade, baseMs, err) },
    },
  );
  worker.on('failed', (job, err) => log.warn({ err, channel: opts.channel, deliveryId: job?.data.deliveryId, attempts: job?.attemptsMade }, 'reminder delivery attempt failed'));
  worker.on('error', (err) => log.error({ err, channel: opts.channel }, 'reminder worker error'));
  let closing: Promise<void> | undefined;
  return {
    worker,
    close() {
      closing ??= worker.close();
      return closing;
    },
  };
}
