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
import type { Campaign, Channel, DeliveryState } from '../../core/campaigns/store.ts';
import type { DeliveryRow, DeliveryRows } from './delivery-rows.ts';
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

/** Who a reminder goes to: the one address it needs, the zone for quiet hours, and the names the lint must keep out. */
export interface Recipient {
  readonly address: string;
  readonly timeZone: string;
  readonly names: readonly string[];
}

export interface Rendered {
  readonly subject?: string;
  readonly text: string;
  /** Hash of the template version used (recorded with the send). */
  readonly templateHash: string;
}

export interface OutgoingMessage {
  readonly deliveryId: string;
  readonly campaignId: string;
  /** What the patient consented to; an unsubscribe link revokes exactly this. */
  readonly purpose: Campaign['purpose'];
  readonly patientId: string;
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
  /** The delivery rows, batched across concurrent jobs (delivery-rows.ts). */
  readonly rows: DeliveryRows;
  readonly consent: (patientId: string, channel: Channel, purpose: string) => Promise<ConsentNow | null>;
  /** The decrypted address, time zone and names; null when the patient has no address for this channel. */
  readonly recipient: (patientId: string, channel: Channel) => Promise<Recipient | 'erased' | null>;
  /** Renders and PHI-lints; throws `PhiLintRefusal` (any error with `phiLint: true`) when the text is refused. */
  readonly render: (input: { templateId: string; version: number; channel: Channel; appointmentStartsAt: Date; timeZone: string; patientNames: readonly string[] }) => Promise<Rendered>;
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

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export async function processDelivery(deliveryId: string, ports: ProcessorPorts): Promise<Outcome> {
  const { rows } = ports;
  const now = (ports.now ?? (() => new Date()))();
  const row = await rows.load(deliveryId);
  if (row === null) return { kind: 'done', state: 'skipped' };
  if (row.state !== 'queued' && row.state !== 'sending') return { kind: 'done', state: row.state };
  const finish = (state: 'skipped' | 'failed', reason: string, details?: Record<string, string | number>): Promise<boolean> =>
    rows.settle({ row, outcome: { state, reason }, ...(details === undefined ? {} : { details }) });
  const recordSent = (providerMessageId: string, details: Record<string, string | number>): Promise<boolean> => rows.settle({ row, outcome: { state: 'sent', providerMessageId }, details });

  // An earlier attempt may have reached the provider: reconcile, never resend blindly.
  if (row.state === 'sending') {
    const resolved = await reconcileEarlier(row, ports, now);
    if (resolved !== undefined) return resolved;
  }

  const skip = async (reason: SkipReason): Promise<Outcome> => {
    await finish('skipped', reason);
    return { kind: 'skipped', reason };
  };
  if (row.campaignStatus === 'cancelled') return skip(SkipReason.campaignCancelled);
  if (row.appointmentStatus === 'cancelled') return skip(SkipReason.appointmentCancelled);
  if (row.appointmentStatus !== 'scheduled' || row.startsAt.getTime() <= now.getTime()) return skip(SkipReason.appointmentStarted);
  const consent = await ports.consent(row.patientId, row.channel, row.purpose);
  if (consent === null) return skip(SkipReason.noConsent);
  if (!consent.granted) return skip(SkipReason.consentRevoked);
  const to = await ports.recipient(row.patientId, row.channel);
  if (to === 'erased') return skip(SkipReason.patientErased);
  if (to === null) return skip(SkipReason.noContact);
  if (row.campaignStatus === 'paused') return { kind: 'delayed', until: new Date(now.getTime() + 60_000) };
  const at = nextSendTime(now, to.timeZone, ports.window);
  if (at.getTime() > now.getTime()) {
    // Delayed past the appointment's start: it expires then (skipped as appointment_started).
    return { kind: 'delayed', until: at };
  }

  let rendered: Rendered;
  try {
    rendered = await ports.render({ templateId: row.templateId, version: row.templateVersion, channel: row.channel, appointmentStartsAt: row.startsAt, timeZone: to.timeZone, patientNames: to.names });
  } catch (err) {
    if (typeof err === 'object' && err !== null && (err as { phiLint?: unknown }).phiLint === true) return skip(SkipReason.phiLint);
    throw err;
  }
  const bodyHash = sha256(`${rendered.subject ?? ''}\n${rendered.text}`);

  // The idempotency record, committed before the provider is called.
  const evidence = { consentRecordId: consent.recordId, consentVersion: consent.version, templateHash: rendered.templateHash, bodyHash };
  if (!(await rows.claim(deliveryId, { at: now, ...evidence }))) return { kind: 'done', state: 'sending' };
  try {
    const message = { deliveryId, campaignId: row.campaignId, purpose: row.purpose, patientId: row.patientId, to: to.address, ...(rendered.subject === undefined ? {} : { subject: rendered.subject }), text: rendered.text };
    const { providerMessageId } = await ports.send(row.channel, message);
    await recordSent(providerMessageId, evidence);
    return { kind: 'sent', providerMessageId };
  } catch (err) {
    if (err instanceof PermanentSendError) {
      await finish('failed', FailReason.permanent, { ...evidence, providerCode: err.code });
      throw err;
    }
    // The provider certainly did not take it: back to queued for the retry.
    if (err instanceof RetryableSendError) await rows.requeue(deliveryId);
    // Anything else may or may not have reached the provider: leave `sending` for reconciliation.
    throw err;
  }
}

/**
 * A row found in `sending`: ask the provider whether the earlier attempt got there. Resolves to
 * the outcome when that settles it, or undefined when the provider has nothing (the row is back
 * to `queued` and is sent as if for the first time).
 */
async function reconcileEarlier(row: DeliveryRow, ports: ProcessorPorts, now: Date): Promise<Outcome | undefined> {
  const to = await ports.recipient(row.patientId, row.channel);
  const found = to === null || to === 'erased' ? undefined : await ports.reconcile(row.channel, { deliveryId: row.id, to: to.address, since: row.sendStartedAt ?? now });
  if (typeof found === 'string') {
    await ports.rows.settle({ row, outcome: { state: 'sent', providerMessageId: found }, details: { reconciled: 1 } });
    return { kind: 'sent', providerMessageId: found };
  }
  if (found === undefined) {
    await ports.rows.settle({ row, outcome: { state: 'failed', reason: FailReason.ambiguous } });
    return { kind: 'failed', reason: FailReason.ambiguous };
  }
  await ports.rows.requeue(row.id);
  return undefined;
}
