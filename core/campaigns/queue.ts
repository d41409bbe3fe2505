/**
 * The reminder queue as producers (the gateway) and consumers (workers/) both see it: its name,
 * the deterministic job id of a delivery (adding a delivery twice adds one job), the retry policy,
 * and bulk enqueueing in batches so a 100,000-recipient campaign is a hundred round trips.
 */
import { Queue } from 'bullmq';
import type { Redis } from '../redis/connect.ts';
import { bullConnection } from '../redis/bullmq-connection.ts';
import type { NewDelivery } from './store.ts';

export const REMINDER_QUEUE = 'reminders';
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

export function reminderQueue(redis: Redis, prefix = DEFAULT_BULL_PREFIX): Queue<DeliveryJob> {
  return new Queue<DeliveryJob>(REMINDER_QUEUE, { connection: bullConnection(redis), prefix });
}

/** Adds one job per delivery, in batches; `onBatch` reports progress (jobs added so far). */
export async function enqueueDeliveries(queue: Queue<DeliveryJob>, campaignId: string, deliveries: readonly NewDelivery[], onBatch?: (added: number) => void): Promise<void> {
  for (let i = 0; i < deliveries.length; i += ENQUEUE_BATCH) {
    const batch = deliveries.slice(i, i + ENQUEUE_BATCH);
    await queue.addBulk(batch.map((d) => ({ name: 'remind', data: { deliveryId: d.id, campaignId }, opts: { ...JOB_OPTIONS, jobId: jobIdFor(d.id) } })));
    onBatch?.(i + batch.length);
  }
}
