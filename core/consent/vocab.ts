/**
 * The closed vocabularies of communication consent: which channel, for what purpose, granted or
 * revoked, and how the change was captured. They mirror the CHECK constraints of
 * core/db/migrations/0005_consent.sql; values are stored, so never rename one.
 */
import { z } from 'zod';

export const ConsentChannel = { sms: 'sms', email: 'email' } as const;
export type ConsentChannel = (typeof ConsentChannel)[keyof typeof ConsentChannel];

export const ConsentPurpose = {
  appointmentReminders: 'appointment_reminders',
  generalOutreach: 'general_outreach',
} as const;
export type ConsentPurpose = (typeof ConsentPurpose)[keyof typeof ConsentPurpose];

export const ConsentState = { granted: 'granted', revoked: 'revoked' } as const;
export type ConsentState = (typeof ConsentState)[keyof typeof ConsentState];

export const ConsentMethod = {
  form: 'form',
  verbal: 'verbal',
  portal: 'portal',
  /** An inbound SMS keyword (STOP, START); evidence = the provider's message id. */
  keyword: 'keyword',
  /** An e-mail one-click unsubscribe (RFC 8058). */
  unsubscribeLink: 'unsubscribe_link',
} as const;
export type ConsentMethod = (typeof ConsentMethod)[keyof typeof ConsentMethod];

export const CONSENT_CHANNELS: readonly ConsentChannel[] = Object.values(ConsentChannel);
export const CONSENT_PURPOSES: readonly ConsentPurpose[] = Object.values(ConsentPurpose);

/**
 * An opaque evidence reference (a form id, a message id): letters, digits and `._:/-`, at most
 * 256 characters. No spaces, no `@`, so neither free text nor an e-mail address passes.
 */
export const EVIDENCE_REF_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$/;

export const channelSchema = z.enum(ConsentChannel);
export const purposeSchema = z.enum(ConsentPurpose);
export const stateSchema = z.enum(ConsentState);
export const methodSchema = z.enum(ConsentMethod);
export const evidenceRefSchema = z.string().regex(EVIDENCE_REF_RE, { message: 'expected an opaque reference (letters, digits, . _ : / -; at most 256)' });
