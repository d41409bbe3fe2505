/**
 * One reminder delivery, decided at send time: the campaign still running, the appointment still
 * scheduled and not started, consent granted for this channel and purpose right now, inside the
 * patient's sending window (else delayed, never dropped), the rendered text passing the PHI lint.
 * Every skip is recorded with its reason and audited.
 *
 * No double send: the delivery row moves to `sending` (attempt counted) in its own committed
 * transaction BEFORE the provider is called. A row found in `sending` means an earlier attempt
 * may have reached the provider (a worker killed mid-call, a lost response): it is reconciled with
 * the provider — found → recorded as sent; not determinable → failed as `ambiguous_outcome` for a
 * person to look at — and never blindly sent again.
 */
import { createHash } from 'node:crypto';
import { AuditAction, AuditOutcome, type AuditLog } from '../../core/audit/index.ts';
import type { Channel, DeliveryState } from '../../core/campaigns/store.ts';
import type { Db } from '../../core/db/types.ts';
import { nextSendTime, type SendingWindow } from './quiet-hours.ts';

/** Why a delivery was skipped or failed (the `reason` column; a closed vocabulary). */
export const SkipReason = {
  campaignCancelled: 'campaign_cancelled',
  appointmentCancelled: 'appointment_cancelled',
  appointmentStarted: 'appointment_started',
  noConsent: 'no_consent',
  consentRevoked: 'consent_revoked',
  noContact: 'no_contact',
  patientErased: 'patient_erased',
  phiLint: 'phi_lint',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

export const FailReason = { permanent: 'provider_refused', ambiguous: 'ambiguous_outcome', render: 'render_failed' } as const;

export interface ConsentNow {
  readonly recordId: string;
  readonly version: number;
  readonly granted: boolean;
}

export interface Contact {
  readonly address: string;
  readonly timeZone: string;
}

export interface Rendered {
  readonly subject?: string;
  readonly text: string;
  /** Hash of the template version used (recorded with the send). */
  readonly templateHash: string;
}

export interface OutgoingMessage {
  readonly deliveryId: string;
  readonly to: string;
  readonly subject?: string;
  readonly text: string;
}

/** What a channel adapter throws, by what the worker must do next. */
export class PermanentSendError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'PermanentSendError';
    this.code = code;
  }
}
export class RetryableSendError extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(message);
    this.name = 'RetryableSendError';
    this.retryAfterMs = retryAfterMs;
  }
}

export interface ProcessorPorts {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly consent: (patientId: string, channel: Channel, purpose: string) => Promise<ConsentNow | null>;
  /** The decrypted address and the patient's time zone; null when the patient has none for this channel. */
  readonly contact: (patientId: string, channel: Channel) => Promise<Contact | 'erased' | null>;
  /** Renders and PHI-lints; throws `PhiLintRefusal` (any error with `phiLint: true`) when the text is refused. */
  readonly render: (input: { templateId: string; version: number; channel: Channel; appointmentStartsAt: Date; timeZone: string; deliveryId: string; patientId: string }) => Promise<Rendered>;
  readonly send: (channel: Channel, message: OutgoingMessage) => Promise<{ providerMessageId: string }>;
  /** An earlier attempt's provider message id, if the provider has one for this delivery; null = none found, undefined = cannot tell. */
  readonly reconcile: (channel: Channel, message: { deliveryId: string; to: string; since: Date }) => Promise<string | null | undefined>;
  readonly window?: SendingWindow;
  readonly now?: () => Date;
}

export type Outcome =
  | { readonly kind: 'sent'; readonly providerMessageId: string }
  | { readonly kind: 'skipped'; readonly reason: SkipReason }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'delayed'; readonly until: Date }
  /** Already finished by an earlier run: nothing done. */
  | { readonly kind: 'done'; readonly state: DeliveryState };

interface Row {
  campaign_id: string;
  patient_id: string;
  appointment_id: string;
  channel: Channel;
  state: DeliveryState;
  send_started_at: Date | null;
  campaign_status: string;
  purpose: string;
  template_id: string;
  template_version: number;
  appt_status: string;
  starts_at: Date;
}

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export async function processDelivery(deliveryId: string, ports: ProcessorPorts): Promise<Outcome> {
  const { db, audit } = ports;
  const now = (ports.now ?? (() => new Date()))();
  const [row] = await db.query<Row>(
    `SELECT d.campaign_id, d.patient_id, d.appointment_id, d.channel, d.state, d.send_started_at,
            c.status AS campaign_status, c.purpose, c.template_id, c.template_version, a.status AS appt_status, a.starts_at
       FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id JOIN appointments a ON a.id = d.appointment_id
      WHERE d.id = $1`,
    [deliveryId],
  );
  if (row === undefined) return { kind: 'done', state: 'skipped' };
  if (row.state !== 'queued' && row.state !== 'sending') return { kind: 'done', state: row.state };
  const base = { actorType: 'system', actorId: 'reminders', resourceType: 'delivery', resourceId: deliveryId, patientId: row.patient_id } as const;
  const ids = { campaignId: row.campaign_id, channel: row.channel };

  const finish = async (state: 'skipped' | 'failed', reason: string, extra: Record<string, string | number> = {}): Promise<void> => {
    await db.transaction(async (tx) => {
      const moved = await tx.query("UPDATE deliveries SET state = $2, reason = $3, updated_at = now() WHERE id = $1 AND state IN ('queued', 'sending') RETURNING 1", [deliveryId, state, reason]);
      if (moved.length === 0) return;
      await audit.append(
        { ...base, action: state === 'skipped' ? AuditAction.reminderSkipped : AuditAction.reminderFailed, outcome: state === 'skipped' ? AuditOutcome.denied : AuditOutcome.failure, details: { ...ids, reason, ...extra } },
        tx,
      );
    });
  };
  const recordSent = async (providerMessageId: string, extra: Record<string, string | number>): Promise<void> => {
    await db.transaction(async (tx) => {
      const moved = await tx.query("UPDATE deliveries SET state = 'sent', provider_message_id = $2, updated_at = now() WHERE id = $1 AND state = 'sending' RETURNING 1", [deliveryId, providerMessageId]);
      if (moved.length === 0) return;
      await audit.append({ ...base, action: AuditAction.reminderSent, outcome: AuditOutcome.success, details: { ...ids, providerMessageId, ...extra } }, tx);
    });
  };

  // An earlier attempt may have reached the provider: reconcile, never resend blindly.
  if (row.state === 'sending') {
    const contact = await ports.contact(row.patient_id, row.channel);
    const found = contact === null || contact === 'erased' ? undefined : await ports.reconcile(row.channel, { deliveryId, to: contact.address, since: row.send_started_at ?? now });
    if (typeof found === 'string') {
      await recordSent(found, { reconciled: 1 });
      return { kind: 'sent', providerMessageId: found };
    }
    if (found === undefined) {
      await finish('failed', FailReason.ambiguous);
      return { kind: 'failed', reason: FailReason.ambiguous };
    }
    // The provider has nothing for it: the earlier attempt never got there. Send again below.
    await db.query("UPDATE deliveries SET state = 'queued', updated_at = now() WHERE id = $1 AND state = 'sending'", [deliveryId]);
  }

  const skip = async (reason: SkipReason): Promise<Outcome> => {
    await finish('skipped', reason);
    return { kind: 'skipped', reason };
  };
  if (row.campaign_status === 'cancelled') return skip(SkipReason.campaignCancelled);
  if (row.appt_status === 'cancelled') return skip(SkipReason.appointmentCancelled);
  if (row.appt_status !== 'scheduled' || row.starts_at.getTime() <= now.getTime()) return skip(SkipReason.appointmentStarted);
  const consent = await ports.consent(row.patient_id, row.channel, row.purpose);
  if (consent === null) return skip(SkipReason.noConsent);
  if (!consent.granted) return skip(SkipReason.consentRevoked);
  const contact = await ports.contact(row.patient_id, row.channel);
  if (contact === 'erased') return skip(SkipReason.patientErased);
  if (contact === null) return skip(SkipReason.noContact);
  if (row.campaign_status === 'paused') return { kind: 'delayed', until: new Date(now.getTime() + 60_000) };
  const at = nextSendTime(now, contact.timeZone, ports.window);
  if (at.getTime() > now.getTime()) {
    // Delayed past the appointment's start: it expires then (skipped as appointment_started).
    return { kind: 'delayed', until: at };
  }

  let rendered: Rendered;
  try {
    rendered = await ports.render({
      templateId: row.template_id,
      version: row.template_version,
      channel: row.channel,
      appointmentStartsAt: row.starts_at,
      timeZone: contact.timeZone,
      deliveryId,
      patientId: row.patient_id,
    });
  } catch (err) {
    if (typeof err === 'object' && err !== null && (err as { phiLint?: unknown }).phiLint === true) return skip(SkipReason.phiLint);
    throw err;
  }
  const bodyHash = sha256(`${rendered.subject ?? ''}\n${rendered.text}`);

  // The idempotency record, committed before the provider is called.
  const claimed = await db.query(
    `UPDATE deliveries SET state = 'sending', attempts = attempts + 1, send_started_at = $2, consent_record_id = $3, consent_version = $4,
            template_hash = $5, body_hash = $6, updated_at = now()
      WHERE id = $1 AND state = 'queued' RETURNING 1`,
    [deliveryId, now, consent.recordId, consent.version, rendered.templateHash, bodyHash],
  );
  if (claimed.length === 0) return { kind: 'done', state: 'sending' };
  const evidence = { consentRecordId: consent.recordId, consentVersion: consent.version, templateHash: rendered.templateHash, bodyHash };
  try {
    const { providerMessageId } = await ports.send(row.channel, { deliveryId, to: contact.address, ...(rendered.subject === undefined ? {} : { subject: rendered.subject }), text: rendered.text });
    await recordSent(providerMessageId, evidence);
    return { kind: 'sent', providerMessageId };
  } catch (err) {
    if (err instanceof PermanentSendError) {
      await finish('failed', FailReason.permanent, { ...evidence, providerCode: err.code });
      throw err;
    }
    if (err instanceof RetryableSendError) {
      // The provider certainly did not take it: back to queued for the retry.
      await db.query("UPDATE deliveries SET state = 'queued', updated_at = now() WHERE id = $1 AND state = 'sending'", [deliveryId]);
      throw err;
    }
    // Anything else may or may not have reached the provider: leave `sending` for reconciliation.
    throw err;
  }
}
