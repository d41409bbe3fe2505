/**
 * A reminder worker for browser tests of the consoles: the local Twilio Messages API
 * (FakeTwilio, which the real `twilio` library talks to) and the BullMQ reminder runtime on the
 * test database and Redis, consuming the queues the test gateway fills (the same `bullPrefix`).
 * The whole day is the sending window (the tests run at any hour) and texts are not paced.
 *
 *   const bullPrefix = `{console-${randomUUID().slice(0, 8)}}`;
 *   const world = await startConsoleWorld({ bullPrefix });
 *   const reminders = await startReminderWorker(world, { bullPrefix });
 *   … reminders.fake.messages …
 *   await reminders.close();
 *
 * For Twilio's webhooks into the gateway (STOP keywords, delivery status), start the fake first
 * and give the gateway the same settings: `startConsoleWorld({ bullPrefix, env: reminderEnv(fake) })`,
 * then `startReminderWorker(world, { bullPrefix, fake })`.
 */
import type { Db } from '../../core/db/types.ts';
import { createAuditLog } from '../../core/audit/index.ts';
import type { MasterKeyring } from '../../core/crypto/index.ts';
import { createLogger } from '../../core/log/logger.ts';
import type { Redis } from '../../core/redis/connect.ts';
import { testConfig } from '../../gateway/testing/harness.ts';
import { createReminderRuntime } from '../../workers/reminders/runtime.ts';
import { FakeTwilio } from './fake-twilio.ts';

/** The clinic name the console world uses; the worker renders with the same one. */
const CLINIC_NAME = 'Riverside Health';

/** Settings that send texts to `fake`, all day long, unpaced (for the gateway and the worker alike). */
export function reminderEnv(fake: FakeTwilio): Record<string, string> {
  return {
    CLINIC_NAME,
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_FROM: '+15555550100',
    TWILIO_API_URL: fake.url,
    REMINDER_SMS_PER_SECOND: '50',
    QUIET_HOURS_START: '0',
    QUIET_HOURS_END: '24',
  };
}

export interface ReminderWorker {
  /** The local Twilio API: `fake.messages` is every text "sent". */
  readonly fake: FakeTwilio;
  /** Holds further jobs on every channel (running ones finish first), e.g. to see a campaign at 0%. */
  pause(): Promise<void>;
  resume(): void;
  /** Stops the worker, then the fake (when this helper started it); idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a reminder worker for `world` (a ConsoleWorld or anything with its database, Redis,
 * master keyring and URL). `bullPrefix` must be the one the gateway was started with; `fake`
 * reuses a running FakeTwilio (else one is started); `env` overrides settings of the worker.
 */
export async function startReminderWorker(
  world: { readonly db: Db; readonly redis: Redis; readonly keyring: MasterKeyring; readonly url: string },
  opts: { readonly bullPrefix: string; readonly fake?: FakeTwilio; readonly env?: Readonly<Record<string, string>> },
): Promise<ReminderWorker> {
  const fake = opts.fake ?? (await FakeTwilio.start());
  try {
    const runtime = createReminderRuntime({
      config: testConfig({ ...reminderEnv(fake), ...opts.env }),
      db: world.db,
      redis: world.redis,
      audit: createAuditLog(world.db),
      keyring: world.keyring,
      log: createLogger({ level: 'silent' }),
      publicOrigin: new URL(world.url).origin,
      prefix: opts.bullPrefix,
    });
    let closing: Promise<void> | undefined;
    return {
      fake,
      async pause() {
        await Promise.all(runtime.workers.map((w) => w.pause()));
      },
      resume() {
        for (const w of runtime.workers) w.resume();
      },
      close() {
        closing ??= (async () => {
          await runtime.close();
          if (opts.fake === undefined) await fake.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    if (opts.fake === undefined) await fake.close();
    throw err;
  }
}
