/**
 * A reminder worker as a process runs it, composed from configuration: the real stores, the
 * Twilio and SMTP channels (each only when configured), a worker per channel queue with its own
 * send rate, and the adapter between channel errors and what the processor must do (permanent → dead letter,
 * retryable → back off, ambiguous → stay `sending` and be reconciled). Email gets the RFC 8058
 * headers and a visible unsubscribe link with a signed single-purpose token.
 */
import type { AuditLog } from '../../core/audit/index.ts';
import { TWILIO_STATUS_PATH } from '../../core/campaigns/twilio-status.ts';
import type { Config } from '../../core/config/schema.ts';
import { createConsentLedger, signUnsubscribeToken, unsubscribeKeys } from '../../core/consent/index.ts';
import { createPatientCipher, type MasterKeyring } from '../../core/crypto/index.ts';
import type { Db } from '../../core/db/types.ts';
import type { Logger } from '../../core/log/logger.ts';
import { createRecipientReader } from '../../core/patients/index.ts';
import type { Redis } from '../../core/redis/connect.ts';
import { createReminderText } from '../../core/reminders/render.ts';
import { createTemplateStore } from '../../core/reminders/templates.ts';
import { EmailChannel, ONE_CLICK, smtpOptionsFromUrl } from '../channels/email.ts';
import { ChannelError } from '../channels/errors.ts';
import { SmsChannel } from '../channels/sms.ts';
import { createDeliveryRows } from './delivery-rows.ts';
import { reminderPorts } from './ports.ts';
import { PermanentSendError, RetryableSendError, type ProcessorPorts } from './processor.ts';
import type { Worker } from 'bullmq';
import type { DeliveryJob } from '../../core/campaigns/queue.ts';
import { createReminderWorker } from './worker.ts';

export interface ReminderRuntimeDeps {
  readonly config: Config;
  readonly db: Db;
  readonly redis: Redis;
  readonly audit: AuditLog;
  readonly keyring: MasterKeyring;
  readonly log: Logger;
  /** Origin of the portal and unsubscribe links (PUBLIC_URL, else the gateway's listen URL). */
  readonly publicOrigin: string;
  readonly prefix?: string;
  readonly concurrency?: number;
  /** Trust this CA for the SMTP server's certificate (tests: a self-signed server). */
  readonly smtpCa?: string | Buffer;
}

/** Channel errors in the processor's terms; ambiguous ones pass through (the row stays `sending`). */
function translate(err: unknown): unknown {
  if (!(err instanceof ChannelError)) return err;
  if (err.outcome === 'permanent') return new PermanentSendError(err.code, err.message);
  if (err.outcome === 'retryable') return new RetryableSendError(err.message, (err as { retryAfterMs?: number }).retryAfterMs);
  return err;
}

export interface ReminderRuntime {
  /** The SMS and email workers. */
  readonly workers: readonly Worker<DeliveryJob>[];
  /** Stops taking jobs, waits for the running ones, releases the channels; idempotent. */
  close(): Promise<void>;
}

export function createReminderRuntime(deps: ReminderRuntimeDeps): ReminderRuntime {
  const { config, db, audit } = deps;
  const ledger = createConsentLedger({ db, audit });
  const recipients = createRecipientReader({ db, cipher: createPatientCipher({ db, keyring: deps.keyring }) });
  const text = createReminderText({ clinicName: config.clinicName, portalUrl: deps.publicOrigin });
  const templates = createTemplateStore({ db, audit, text });
  // The first key is the current master key's: it signs (all of them verify).
  const [signingKey] = unsubscribeKeys(deps.keyring);
  if (signingKey === undefined) throw new Error('the master keyring yielded no unsubscribe key');
  const sms =
    config.twilioAccountSid !== undefined && config.twilioAuthToken !== undefined
      ? new SmsChannel({
          accountSid: config.twilioAccountSid,
          authToken: config.twilioAuthToken,
          sender: config.twilioMessagingServiceSid !== undefined ? { messagingServiceSid: config.twilioMessagingServiceSid } : { from: config.twilioFrom ?? '' },
          statusCallbackUrl: `${deps.publicOrigin}${TWILIO_STATUS_PATH}`,
          ...(config.twilioApiUrl === undefined ? {} : { apiBaseUrl: config.twilioApiUrl }),
        })
      : undefined;
  const email =
    config.smtpUrl !== undefined && config.smtpFrom !== undefined
      ? new EmailChannel({ ...smtpOptionsFromUrl(config.smtpUrl), from: config.smtpFrom, allowInsecure: config.smtpAllowInsecure, ...(deps.smtpCa === undefined ? {} : { ca: deps.smtpCa }) })
      : undefined;
  const host = new URL(deps.publicOrigin).hostname;

  const onGroupError = (err: unknown): void => deps.log.warn({ err }, 'reminder batch read failed; retrying its items one by one');
  const ports: ProcessorPorts = {
    rows: createDeliveryRows({ db, audit, log: deps.log }),
    ...reminderPorts({ ledger, recipients, templates, timeWords: text.timeWords, onGroupError }),
    window: { startHour: config.quietHoursStart, endHour: config.quietHoursEnd },
    async send(channel, m) {
      try {
        if (channel === 'sms') {
          if (sms === undefined) throw new PermanentSendError('sms_not_configured', 'SMS is not configured (TWILIO_ACCOUNT_SID)');
          return await sms.send({ to: m.to, body: m.text, idempotencyKey: m.deliveryId });
        }
        if (email === undefined) throw new PermanentSendError('email_not_configured', 'email is not configured (SMTP_URL)');
        const token = signUnsubscribeToken({ patientId: m.patientId, purpose: m.purpose, channel: 'email', campaignId: m.campaignId }, signingKey);
        const unsubscribe = `${deps.publicOrigin}/unsubscribe/${token}`;
        const sent = await email.send({
          to: m.to,
          subject: m.subject ?? config.clinicName,
          text: `${m.text}\n\nTo stop these emails: ${unsubscribe}\n`,
          messageId: `<${m.deliveryId}@${host}>`,
          headers: { listUnsubscribe: unsubscribe, listUnsubscribePost: ONE_CLICK },
        });
        return { providerMessageId: sent.providerMessageId };
      } catch (err) {
        throw translate(err);
      }
    },
    async reconcile(channel, m) {
      // SMTP cannot be asked what it accepted: an ambiguous email is failed for a person to check.
      if (channel !== 'sms' || sms === undefined) return undefined;
      try {
        return await sms.findByIdempotencyKey({ to: m.to, idempotencyKey: m.deliveryId, since: m.since });
      } catch (err) {
        throw translate(err);
      }
    },
  };
  const common = {
    redis: deps.redis,
    ports,
    log: deps.log,
    prefix: deps.prefix ?? config.queuePrefix,
    ...(deps.concurrency === undefined ? {} : { concurrency: deps.concurrency }),
    lockMs: config.reminderJobLockSeconds * 1000,
  };
  // One worker per channel queue, each under its own rate limit.
  const workers = [
    createReminderWorker({ ...common, channel: 'sms', limiter: { max: config.reminderSmsPerSecond, durationMs: 1_000 } }),
    createReminderWorker({ ...common, channel: 'email', limiter: { max: config.reminderEmailPerSecond, durationMs: 1_000 } }),
  ];
  let closing: Promise<void> | undefined;
  return {
    workers: workers.map((w) => w.worker),
    close() {
      closing ??= (async () => {
        await Promise.all(workers.map((w) => w.close()));
        sms?.close();
        email?.close();
      })();
      return closing;
    },
  };
}
