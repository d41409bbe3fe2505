/**
 * The reminder queues as producers (the gateway) and consumers (workers/) both see them: one
 * BullMQ queue per channel, so each channel has its own rate limit (a Twilio long code sends about
 * one SMS a second while the SMTP relay takes far more) and a slow channel never holds up the
 * other; the deterministic job id of a delivery (adding a delivery twice adds one job); the retry
 * policy; and bulk enqueueing in batches so a 100,000-recipient campaign is a hundred round trips.
 */
import { Queue } from 'bullmq';
import type { Redis } from '../redis/connect.ts';
import { bullConnection } from '../redis/bullmq-connection.ts';
import type { Channel, NewDelivery } from './store.ts';

export const REMINDER_QUEUES: Readonly<Record<Channel, string>> = { sms: 'reminders-sms', email: 'reminders-email' };
export const DEFAULT_BULL_PREFIX = '{th}';
export const ENQUEUE_BATCH = 1_000;
/** Attempts per delivery before it lands in the dead-letter view (failed jobs). */
export const MAX_ATTEMPTS = 8;

export interface DeliveryJob {
  readonly deliveryId: string;
  readonly campaignId: string;
}

/** BullMQ custom ids may not contain ':'; the delivery id is unique on its own. */
export const jobIdFor = (deliveryId: string): string => `delivery-${deliveryId}`;

export const JOB_OPTIONS = {
  attempts: MAX_ATTEMPTS,
  backoff: { type: 'reminder' },
  // Completed jobs go (the delivery row is the record); failed ones stay as the dead-letter view.
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: false,
} as const;

export interface ReminderQueues {
  of(channel: Channel): Queue<DeliveryJob>;
  /** Closes both queues' connections (not the shared Redis client); idempotent. */
  close(): Promise<void>;
}

export function reminderQueues(redis: Redis, prefix = DEFAULT_BULL_PREFIX): ReminderQueues {
  const queues = {
    sms: new Queue<DeliveryJob>(REMINDER_QUEUES.sms, { connection: bullConnection(redis), prefix }),
    email: new Queue<DeliveryJob>(REMINDER_QUEUES.email, { connection: bullConnection(redis), prefix }),
  };
  let closing: Promise<void> | undefined;
  return {
    of: (channel) => queues[channel],
    close() {
      closing ??= Promise.all([queues.sms.close(), queues.email.close()]).then(() => undefined);
      return closing;
    },
  };
}

/**
 * Adds one job per delivery to the channel's queue, a page at a time (pages of more than
 * ENQUEUE_BATCH are split); `onBatch` reports progress (jobs added so far). Returns the count.
 */
export async function enqueueDeliveries(
  queues: ReminderQueues,
  channel: Channel,
  campaignId: string,
  pages: AsyncIterable<readonly NewDelivery[]> | Iterable<readonly NewDelivery[]>,
  onBatch?: (added: number) => void,
): Promise<number> {
  const queue = queues.of(channel);
  let added = 0;
  for await (const page of pages) {
    for (let i = 0; i < page.length; i += ENQUEUE_BATCH) {
      const batch = page.slice(i, i + ENQUEUE_BATCH);
      await queue.addBulk(batch.map((d) => ({ name: 'remind', data: { deliveryId: d.id, campaignId }, opts: { ...JOB_OPTIONS, jobId: jobIdFor(d.id) } })));
      added += batch.length;
      onBatch?.(added);
    }
  }
  return added;
}
