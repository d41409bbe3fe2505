/**
 * Delivery states and skip/failure reasons in plain words, and how far a campaign has got. The
 * reason codes are the workers' closed vocabulary (workers/reminders/processor.ts); an unknown one
 * is still shown, by its code, so nothing is hidden from the report.
 */
import type { DeliveryState, Progress, States } from './types.ts';

export const STATE_NAMES: Readonly<Record<DeliveryState, string>> = {
  queued: 'Waiting to send',
  sending: 'Sending now',
  sent: 'Sent',
  delivered: 'Delivered',
  skipped: 'Skipped',
  failed: 'Failed',
  undelivered: 'Not delivered (carrier)',
};

export const REASON_NAMES: Readonly<Record<string, string>> = {
  no_consent: 'No consent on file for this channel and purpose',
  consent_revoked: 'Consent revoked (possibly while the campaign ran)',
  appointment_cancelled: 'Appointment cancelled',
  appointment_started: 'Appointment already started or over',
  campaign_cancelled: 'Campaign cancelled',
  no_contact: 'No phone number or e-mail address on file',
  patient_erased: 'Patient record erased',
  phi_lint: 'Message held back: it would have contained patient information',
  provider_refused: 'Refused by the SMS/e-mail provider (fix the cause, then replay)',
  ambiguous_outcome: 'Unknown whether it was sent (check with the provider before replaying)',
  render_failed: 'The template could not be filled in',
};

export function reasonName(code: string): string {
  return REASON_NAMES[code] ?? `Other (${code})`;
}

/** Deliveries that are finished one way or another (not waiting and not in flight). */
export function settled(states: States): number {
  return Object.values(states).reduce((a, b) => a + b, 0) - states.queued - states.sending;
}

/** Nothing more will move on its own: finished, cancelled, or all deliveries settled. */
export function isFinished(p: Pick<Progress, 'status' | 'states'>): boolean {
  return p.status === 'cancelled' || p.status === 'completed' || p.states.queued + p.states.sending === 0;
}
