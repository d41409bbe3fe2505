/**
 * What the gateway answers to the scheduler's calls (the shapes of its OpenAPI schemas), and the
 * closed vocabularies the scheduler picks from. Schedulers see the patient contact view (names,
 * channels, time zone) and never the clinical view or message metadata.
 */

export const CHANNELS = ['sms', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];
export const PURPOSES = ['appointment_reminders', 'general_outreach'] as const;
export type Purpose = (typeof PURPOSES)[number];
/** How a scheduler may record a consent change (keyword and unsubscribe-link changes come from the patient only). */
export const STAFF_METHODS = ['form', 'verbal', 'portal'] as const;
export type StaffMethod = (typeof STAFF_METHODS)[number];
export const DELIVERY_STATES = ['queued', 'sending', 'sent', 'delivered', 'skipped', 'failed', 'undelivered'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];
export type CampaignStatus = 'running' | 'paused' | 'cancelled' | 'completed';
export const TIME_WORDS = ['today', 'tomorrow', 'soon'] as const;
export type TimeWord = (typeof TIME_WORDS)[number];

export const CHANNEL_NAMES: Readonly<Record<Channel, string>> = { sms: 'Text message (SMS)', email: 'E-mail' };
export const PURPOSE_NAMES: Readonly<Record<Purpose, string>> = { appointment_reminders: 'Appointment reminders', general_outreach: 'General outreach' };
export const METHOD_NAMES: Readonly<Record<string, string>> = {
  form: 'Signed form',
  verbal: 'Verbal',
  portal: 'Patient portal',
  keyword: 'Patient texted a keyword (STOP/START)',
  unsubscribe_link: 'Patient used the e-mail unsubscribe link',
};

export interface Provider {
  readonly id: string;
  readonly displayName: string;
}

export interface Clinic {
  readonly id: string;
  readonly name: string;
  readonly timeZone: string;
  readonly archivedAt: string | null;
}

export interface PatientContact {
  readonly id: string;
  readonly givenName: string;
  readonly familyName: string;
  readonly phone: string | null;
  readonly email: string | null;
  readonly timeZone: string;
}

export interface Appointment {
  readonly id: string;
  readonly patientId: string;
  readonly providerId: string;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly status: 'scheduled' | 'cancelled' | 'completed';
  readonly clinicId: string | null;
}

export interface ConsentRecord {
  readonly id: string;
  readonly channel: Channel;
  readonly purpose: Purpose;
  readonly version: number;
  readonly state: 'granted' | 'revoked';
  readonly method: string;
  readonly evidenceRef: string | null;
  readonly recordedBy: { readonly type: string; readonly id: string };
  readonly recordedAt: string;
}

export interface ConsentView {
  readonly current: readonly ConsentRecord[];
  readonly history: readonly ConsentRecord[];
}

export interface TemplateSummary {
  readonly id: string;
  readonly name: string;
  readonly channel: Channel;
  readonly latestVersion: number;
  readonly updatedAt: string;
}

export interface TemplateVersion {
  readonly id: string;
  readonly name: string;
  readonly channel: Channel;
  readonly version: number;
  readonly subject: string | null;
  readonly body: string;
  readonly hash: string;
  readonly createdAt: string;
}

export interface TemplateProblem {
  readonly path: 'subject' | 'body';
  readonly rule: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

export interface TemplatePreview {
  readonly ok: boolean;
  readonly problems: readonly TemplateProblem[];
  readonly rendered: {
    readonly subject: string | null;
    readonly text: string;
    readonly html: string | null;
    readonly sms: { readonly encoding: 'gsm7' | 'ucs2'; readonly units: number; readonly segments: number } | null;
  } | null;
}

export type States = Readonly<Record<DeliveryState, number>>;

export interface CampaignSummary {
  readonly id: string;
  readonly channel: Channel;
  readonly purpose: Purpose;
  readonly templateId: string;
  readonly templateVersion: number;
  readonly status: CampaignStatus;
  readonly total: number;
  readonly createdAt: string;
  readonly states: States;
}

export interface Progress {
  readonly campaignId: string;
  readonly status: CampaignStatus;
  readonly total: number;
  readonly states: States;
  readonly reasons: Readonly<Record<string, number>>;
}

export interface DeliveryRow {
  readonly deliveryId: string;
  readonly appointmentId: string;
  readonly channel: Channel;
  readonly state: DeliveryState;
  readonly reason: string | null;
  readonly attempts: number;
  readonly updatedAt: string;
}

export interface DeadLetter {
  readonly deliveryId: string;
  readonly channel: Channel;
  readonly reason: string | null;
  readonly attempts: number;
  readonly updatedAt: string;
}

export const patientName = (p: PatientContact): string => `${p.givenName} ${p.familyName}`;
