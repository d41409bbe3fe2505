/**
 * The reminder half of the scale-out run, through the public API only: a scheduler registers
 * patients (round-robin over the gateways), records SMS appointment-reminder consent for most of
 * them (form, with an opaque evidence reference), books each an appointment ~30 h out, saves a
 * template and creates one campaign over all the appointments through one gateway. The workers
 * (`telehealth worker` processes; the gateways run `telehealth gateway`, which sends none) send to the local
 * Twilio; the check is per number: every consenting patient exactly once, everyone else never.
 */
import { z } from 'zod';
import { api } from './api.ts';
import type { LocalTwilio } from './scaleout-twilio.ts';
import { createStaff, firstSignIn, mapLimit } from './seed.ts';
import { sleep } from './scenario.ts';

const Id = z.object({ id: z.string() });
const Template = z.object({ id: z.string(), version: z.number().int() });
const Progress = z.object({ status: z.string(), total: z.number().int(), states: z.record(z.string(), z.number().int()), reasons: z.record(z.string(), z.number().int()) });
const SETUP_CONCURRENCY = 8;
const TEMPLATE = 'This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}';

export interface CampaignPlan {
  readonly urls: readonly string[];
  readonly adminToken: string;
  readonly providerId: string;
  readonly consenting: number;
  readonly nonConsenting: number;
  readonly progress: (line: string) => void;
}

export interface PreparedCampaign {
  readonly consentingPhones: readonly string[];
  readonly otherPhones: readonly string[];
  /** Creates the campaign through gateway 0; resolves with its id and the time it was created. */
  launch(): Promise<{ id: string; t0: number }>;
  /** Polls until no delivery is queued or sending (or the deadline), then returns the progress. */
  settle(id: string, timeoutMs: number): Promise<z.infer<typeof Progress>>;
}

const phoneOf = (i: number): string => `+1555557${String(i).padStart(4, '0')}`;

export async function prepareCampaign(plan: CampaignPlan): Promise<PreparedCampaign> {
  const { urls } = plan;
  const at = (i: number): string => urls[i % urls.length] ?? '';
  const staff = await createStaff(at(0), plan.adminToken, 'scheduler', 'load-xsched-0001');
  const sched = await firstSignIn(at(0), staff.username, staff.password);
  const token = sched.token;
  const total = plan.consenting + plan.nonConsenting;
  plan.progress(`registering ${total} reminder patients (${plan.consenting} consenting) with appointments, round-robin over ${urls.length} gateways`);
  const starts = Date.now() + 30 * 3_600_000;
  const appointmentIds = await mapLimit(
    Array.from({ length: total }, (_, i) => i),
    SETUP_CONCURRENCY,
    async (i) => {
      const base = at(i);
      const body = { givenName: 'Load', familyName: `Reminded${String(i).padStart(5, '0')}`, phone: phoneOf(i), timeZone: 'UTC' };
      const patientId = (await api(base, { method: 'POST', path: '/patients', token, body }, Id)).body.id;
      if (i < plan.consenting) {
        const consent = { channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: `form-load-${i}` };
        await api(base, { method: 'POST', path: `/patients/${patientId}/consent`, token, body: consent }, Id);
      }
      const startsAt = new Date(starts + i * 60_000);
      const appt = { patientId, providerId: plan.providerId, startsAt: startsAt.toISOString(), endsAt: new Date(startsAt.getTime() + 1_800_000).toISOString() };
      return (await api(base, { method: 'POST', path: '/appointments', token, body: appt }, Id)).body.id;
    },
  );
  const template = (await api(at(0), { method: 'POST', path: '/templates', token, body: { name: 'load-scaleout', channel: 'sms', body: TEMPLATE } }, Template)).body;
  return {
    consentingPhones: Array.from({ length: plan.consenting }, (_, i) => phoneOf(i)),
    otherPhones: Array.from({ length: plan.nonConsenting }, (_, i) => phoneOf(plan.consenting + i)),
    async launch() {
      const t0 = performance.now();
      const body = { channel: 'sms', purpose: 'appointment_reminders', templateId: template.id, templateVersion: template.version, selector: { kind: 'appointments', appointmentIds } };
      const made = await api(at(0), { method: 'POST', path: '/campaigns', token, body }, Id);
      return { id: made.body.id, t0 };
    },
    async settle(id, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const p = (await api(at(1), { method: 'GET', path: `/campaigns/${id}`, token }, Progress)).body;
        const open = (p.states['queued'] ?? 0) + (p.states['sending'] ?? 0) + (p.states['pending'] ?? 0);
        if (open === 0 || performance.now() > deadline) return p;
        await sleep(250);
      }
    },
  };
}

/** Per-number outcome of the campaign at the local Twilio. */
export function reminderCounts(prepared: PreparedCampaign, twilio: LocalTwilio): { reminded: number; missed: number; duplicated: number; unexpected: number } {
  let reminded = 0;
  let missed = 0;
  let duplicated = 0;
  let unexpected = 0;
  const ours = new Set(prepared.consentingPhones);
  for (const phone of prepared.consentingPhones) {
    const n = twilio.perTo.get(phone) ?? 0;
    if (n === 0) missed++;
    else reminded++;
    if (n > 1) duplicated += n - 1;
  }
  for (const [to, n] of twilio.perTo) if (!ours.has(to)) unexpected += n;
  return { reminded, missed, duplicated, unexpected };
}
