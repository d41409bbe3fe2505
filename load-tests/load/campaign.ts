/**
 * `npm run load -- campaign`: bursts of reminder-campaign creation against the all-in-one
 * deployment, whose reminder workers send to a local Twilio (scaleout-twilio.ts) through the real
 * `twilio` library. --vus schedulers each create --iterations campaigns; in every burst all the
 * schedulers create one at the same moment, and the bursts are spread evenly over --duration s
 * (open-loop: a burst fires on time however the previous one is doing). Each campaign covers its
 * own disjoint slice of appointments, so over the whole run every consenting patient must be
 * texted exactly once and every other patient never — counted per number at the local Twilio.
 *
 * Setup, not measured: the admin signs in, creates the schedulers (each enrolls TOTP) and one
 * provider; the schedulers register the patients (synthetic, with phones), record SMS
 * appointment-reminder consent for most of them, book each an appointment ~30 h out (inside the
 * sending window whatever the hour) and save one template each, all through the public API.
 *
 * Metrics: create_ms (POST /campaigns: one transaction writing the campaign and its delivery rows,
 * then the enqueue), progress_read_ms (GET /campaigns/{id} while its deliveries are open),
 * settle_ms (create called → first progress read with nothing queued or sending and status `completed`), the per-number
 * reminder counts, reminders_per_second and error_rate (failed creates and progress reads).
 */
import { z } from 'zod';
import { api, ApiError } from './api.ts';
import { Rate, Trend, type MetricSummary } from './metrics.ts';
import { startLocalTwilio, type LocalTwilio } from './scaleout-twilio.ts';
import { createStaff, firstSignIn, mapLimit, type StaffSession } from './seed.ts';
import { every, sleep, type Scenario, type ScenarioContext, type ScenarioOutcome } from './scenario.ts';

/** Appointments per campaign: small, so the default run (20 campaigns) stays at 240 patients. */
const PER_CAMPAIGN = 12;
/** The first 10 of each slice consented to SMS reminders; the last 2 did not (never texted). */
const CONSENTING_PER_CAMPAIGN = 10;
const SETUP_CONCURRENCY = 8;
/** How often a creator reads its campaign's progress while deliveries are open. */
const POLL_MS = 250;
/** A campaign still open this long after its create counts as not settled. */
const SETTLE_TIMEOUT_MS = 60_000;
/** After every campaign settled: time for a late duplicate SMS to reach the local Twilio. */
const DUPLICATE_GRACE_MS = 2_000;
/**
 * create_ms p95 limit. A create is one transaction (campaign + 12 delivery rows + audit) and 12
 * queue adds; a burst puts --vus of them on the single PGlite connection at once while the same
 * process's workers already send the first campaigns' deliveries (and, with more load, the previous
 * burst's), on 2 cores shared with the harness and Redis. A scheduler pressing "create" should
 * still see the campaign within a second.
 */
const CREATE_P95_MS = 1_000;
const SMS_PER_SECOND = 200;
const FROM = '+15555500100';
// Copied from scaleout-campaign.ts: no PHI words (the lint refuses names, dates, places…).
const TEMPLATE = 'This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}';

const Id = z.object({ id: z.string() });
const Template = z.object({ id: z.string(), version: z.number().int() });
const Progress = z.object({ status: z.string(), total: z.number().int(), states: z.record(z.string(), z.number().int()), reasons: z.record(z.string(), z.number().int()) });
type Progress = z.infer<typeof Progress>;

/**
 * Fictional NANP numbers, one per patient: area code 555, exchange 600+ (a different one from
 * scaleout-campaign.ts's 557, so a stray send from another run could not pass for ours).
 */
const phoneOf = (i: number): string => `+1555${600 + Math.floor(i / 10_000)}${String(i % 10_000).padStart(4, '0')}`;

interface Scheduler {
  readonly index: number;
  readonly session: StaffSession;
  templateId: string;
  templateVersion: number;
}

interface Planned {
  /** s × iterations + k: also the index of its slice of patients. */
  readonly index: number;
  readonly scheduler: Scheduler;
  readonly burst: number;
  readonly appointmentIds: readonly string[];
}

interface Outcome {
  id?: string;
  settledMs?: number;
  last?: Progress;
}

/** The environment a reminder-sending all-in-one deployment needs (the Twilio half comes from `deploy(extra)`). */
const SETTINGS: Readonly<Record<string, string>> = {
  // Not a word of the synthetic patients' names: the PHI lint refuses a text naming the patient.
  CLINIC_NAME: 'Riverside Health',
  // Only the portal link uses it; without a 5-digit port, which the reminder PHI lint takes for a ZIP code.
  PUBLIC_URL: 'http://127.0.0.1:8080',
  TWILIO_FROM: FROM,
  // Send whatever the hour of the run: quiet hours would delay (not drop) reminders until morning.
  QUIET_HOURS_START: '0',
  QUIET_HOURS_END: '24',
  // The default (1/s, a Twilio long code) would make sending, not creation, the whole run.
  REMINDER_SMS_PER_SECOND: String(SMS_PER_SECOND),
};

async function seed(baseUrl: string, adminToken: string, ctx: ScenarioContext): Promise<{ schedulers: Scheduler[]; planned: Planned[] }> {
  const { options, progress } = ctx;
  progress(`creating ${options.vus} schedulers and a provider`);
  const provider = await createStaff(baseUrl, adminToken, 'provider', 'load-cprov-0001');
  const schedulers = await mapLimit(
    Array.from({ length: options.vus }, (_, i) => i),
    SETUP_CONCURRENCY,
    async (index): Promise<Scheduler> => {
      const staff = await createStaff(baseUrl, adminToken, 'scheduler', `load-csched-${String(index).padStart(4, '0')}`);
      const session = await firstSignIn(baseUrl, staff.username, staff.password);
      const t = (await api(baseUrl, { method: 'POST', path: '/templates', token: session.token, body: { name: `load-burst-${index}`, channel: 'sms', body: TEMPLATE } }, Template)).body;
      return { index, session, templateId: t.id, templateVersion: t.version };
    },
  );
  const campaigns = options.vus * options.iterations;
  const patients = campaigns * PER_CAMPAIGN;
  progress(`registering ${patients} patients (${campaigns * CONSENTING_PER_CAMPAIGN} consenting) with appointments ~30 h out`);
  const starts = Date.now() + 30 * 3_600_000;
  let done = 0;
  const stop = every(5000, () => progress(`  ${done}/${patients} patients registered`));
  let appointmentIds: string[];
  try {
    appointmentIds = await mapLimit(
      Array.from({ length: patients }, (_, i) => i),
      SETUP_CONCURRENCY,
      async (i) => {
        // Slice c belongs to campaign c, created by scheduler floor(c / iterations), who registers it.
        const c = Math.floor(i / PER_CAMPAIGN);
        const token = schedulers[Math.floor(c / options.iterations)]?.session.token ?? '';
        const body = { givenName: 'Load', familyName: `Burst${String(i).padStart(6, '0')}`, phone: phoneOf(i), timeZone: 'UTC' };
        const patientId = (await api(baseUrl, { method: 'POST', path: '/patients', token, body }, Id)).body.id;
        if (i % PER_CAMPAIGN < CONSENTING_PER_CAMPAIGN) {
          const consent = { channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: `form-load-${i}` };
          await api(baseUrl, { method: 'POST', path: `/patients/${patientId}/consent`, token, body: consent }, Id);
        }
        // Ten seconds apart: 30 h out plus at most ~1 h for thousands of patients, so every
        // appointment is still ahead when its reminder is due and says the same time word.
        const startsAt = new Date(starts + i * 10_000);
        const appt = { patientId, providerId: provider.id, startsAt: startsAt.toISOString(), endsAt: new Date(startsAt.getTime() + 1_800_000).toISOString() };
        const id = (await api(baseUrl, { method: 'POST', path: '/appointments', token, body: appt }, Id)).body.id;
        done++;
        return id;
      },
    );
  } finally {
    stop();
  }
  const planned: Planned[] = [];
  for (const scheduler of schedulers) {
    for (let k = 0; k < options.iterations; k++) {
      const index = scheduler.index * options.iterations + k;
      planned.push({ index, scheduler, burst: k, appointmentIds: appointmentIds.slice(index * PER_CAMPAIGN, (index + 1) * PER_CAMPAIGN) });
    }
  }
  return { schedulers, planned };
}

/** Per-number outcome at the local Twilio over the whole run. */
function countReminders(twilio: LocalTwilio, patients: number): { expected: number; reminded: number; missed: number; duplicated: number; unexpected: number } {
  const consenting = new Set<string>();
  for (let i = 0; i < patients; i++) if (i % PER_CAMPAIGN < CONSENTING_PER_CAMPAIGN) consenting.add(phoneOf(i));
  let reminded = 0;
  let missed = 0;
  let duplicated = 0;
  let unexpected = 0;
  for (const phone of consenting) {
    const n = twilio.perTo.get(phone) ?? 0;
    if (n === 0) missed++;
    else reminded++;
    if (n > 1) duplicated += n - 1;
  }
  // Non-consenting patients and any number this run never registered.
  for (const [to, n] of twilio.perTo) if (!consenting.has(to)) unexpected += n;
  return { expected: consenting.size, reminded, missed, duplicated, unexpected };
}

const openOf = (p: Progress): number => (p.states['queued'] ?? 0) + (p.states['sending'] ?? 0);

function add(into: Map<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [k, n] of Object.entries(from)) if (n > 0) into.set(k, (into.get(k) ?? 0) + n);
}

async function run(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const { options, progress } = ctx;
  const twilio = await startLocalTwilio();
  try {
    const deployment = await ctx.deploy({ TWILIO_ACCOUNT_SID: twilio.accountSid, TWILIO_AUTH_TOKEN: twilio.authToken, TWILIO_API_URL: twilio.url });
    const { baseUrl } = deployment;
    const admin = await firstSignIn(baseUrl, deployment.admin.username, deployment.admin.password);
    const { planned } = await seed(baseUrl, admin.token, ctx);
    if (twilio.created() !== 0) throw new Error(`${twilio.created()} SMS reached the local Twilio before any campaign existed`);

    const createMs = new Trend();
    const readMs = new Trend();
    const settleMs = new Trend();
    const ops = new Rate();
    const errors: string[] = [];
    const failed = (what: string, err: unknown): void => {
      ops.add(true);
      // ApiError messages carry method, path (ids only), status and code: no PHI.
      if (errors.length < 10) errors.push(`${what}: ${err instanceof ApiError ? err.message : err instanceof Error ? err.name : 'error'}`);
    };
    const outcomes = planned.map((): Outcome => ({}));
    let created = 0;
    let settled = 0;
    const gapMs = (options.duration * 1000) / options.iterations;
    const total = planned.length;
    progress(`load: ${options.iterations} bursts of ${options.vus} campaigns (${PER_CAMPAIGN} appointments each), one burst every ${(gapMs / 1000).toFixed(1)} s`);
    const start = performance.now();
    const stopProgress = every(2000, () => {
      progress(`${((performance.now() - start) / 1000).toFixed(0).padStart(4)} s  campaigns created ${created}/${total} settled ${settled}  reminders at Twilio ${twilio.created()}  errors ${ops.failures}`);
    });
    try {
      await Promise.all(
        planned.map(async (p) => {
          const out = outcomes[p.index] ?? {};
          const { token } = p.scheduler.session;
          await sleep(start + p.burst * gapMs - performance.now());
          const t0 = performance.now();
          const body = { channel: 'sms', purpose: 'appointment_reminders', templateId: p.scheduler.templateId, templateVersion: p.scheduler.templateVersion, selector: { kind: 'appointments', appointmentIds: p.appointmentIds } };
          try {
            const made = await api(baseUrl, { method: 'POST', path: '/campaigns', token, body }, Id);
            createMs.add(made.ms);
            ops.add(false);
            out.id = made.body.id;
            created++;
          } catch (err) {
            failed(`create campaign ${p.index}`, err);
            return;
          }
          const deadline = t0 + SETTLE_TIMEOUT_MS;
          while (performance.now() < deadline) {
            try {
              const read = await api(baseUrl, { method: 'GET', path: `/campaigns/${out.id}`, token }, Progress);
              readMs.add(read.ms);
              ops.add(false);
              out.last = read.body;
              // Settled: nothing queued or sending, and the campaign says so itself (status completed).
              if (openOf(read.body) === 0 && read.body.status === 'completed') {
                out.settledMs = performance.now() - t0;
                settleMs.add(out.settledMs);
                settled++;
                return;
              }
            } catch (err) {
              // One failed read is an error, not the campaign's end: keep watching it.
              failed(`progress of campaign ${out.id ?? p.index}`, err);
            }
            await sleep(POLL_MS);
          }
        }),
      );
      await sleep(DUPLICATE_GRACE_MS);
    } finally {
      stopProgress();
    }

    const r = countReminders(twilio, planned.length * PER_CAMPAIGN);
    const span = twilio.span();
    const smsSeconds = (span.last - start) / 1000;
    const states = new Map<string, number>();
    const reasons = new Map<string, number>();
    let wrongTotals = 0;
    for (const o of outcomes) {
      if (o.last === undefined) continue;
      add(states, o.last.states);
      add(reasons, o.last.reasons);
      if (o.last.total !== PER_CAMPAIGN) wrongTotals++;
    }
    const unsettled = outcomes.flatMap((o, i) => (o.settledMs === undefined ? [o.id ?? `#${i} (not created)`] : []));
    const metrics: Record<string, MetricSummary> = {
      create_ms: createMs.summary(),
      progress_read_ms: readMs.summary(),
      settle_ms: settleMs.summary(),
      campaigns_created: { type: 'counter', value: created },
      campaigns_settled: { type: 'counter', value: settled },
      campaigns_wrong_total: { type: 'counter', value: wrongTotals },
      reminders_expected: { type: 'counter', value: r.expected },
      reminders_sent: { type: 'counter', value: twilio.created() },
      reminders_missed: { type: 'counter', value: r.missed },
      reminders_duplicated: { type: 'counter', value: r.duplicated },
      reminders_to_non_consenting: { type: 'counter', value: r.unexpected },
      // The server's side of the same fact: each non-consenting delivery recorded as skipped.
      skipped_no_consent: { type: 'counter', value: reasons.get('no_consent') ?? 0 },
      reminders_per_second: { type: 'counter', value: smsSeconds > 0 ? Math.round((twilio.created() / smsSeconds) * 10) / 10 : 0 },
      error_rate: ops.summary(),
    };
    const fmt = (m: Map<string, number>): string => JSON.stringify(Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b))));
    return {
      metrics,
      thresholds: [
        { metric: 'campaigns_created', stat: 'value', op: '==', limit: total },
        { metric: 'campaigns_settled', stat: 'value', op: '==', limit: total },
        { metric: 'campaigns_wrong_total', stat: 'value', op: '==', limit: 0 },
        { metric: 'create_ms', stat: 'p95', op: '<', limit: CREATE_P95_MS },
        { metric: 'reminders_sent', stat: 'value', op: '==', limit: r.expected },
        { metric: 'reminders_missed', stat: 'value', op: '==', limit: 0 },
        { metric: 'reminders_duplicated', stat: 'value', op: '==', limit: 0 },
        { metric: 'reminders_to_non_consenting', stat: 'value', op: '==', limit: 0 },
        { metric: 'skipped_no_consent', stat: 'value', op: '==', limit: total * (PER_CAMPAIGN - CONSENTING_PER_CAMPAIGN) },
        { metric: 'error_rate', stat: 'value', op: '==', limit: 0 },
      ],
      notes: [
        `${options.vus} scheduler(s) × ${options.iterations} campaign(s) = ${total} campaigns over ${total * PER_CAMPAIGN} patients (${CONSENTING_PER_CAMPAIGN} of every ${PER_CAMPAIGN} with SMS reminder consent), one disjoint slice of ${PER_CAMPAIGN} appointments each`,
        `${options.iterations} burst(s) of ${options.vus} simultaneous POST /campaigns, one every ${(gapMs / 1000).toFixed(1)} s; each creator then reads its progress every ${POLL_MS} ms until nothing is queued or sending (at most ${SETTLE_TIMEOUT_MS / 1000} s)`,
        `create_ms p95 < ${CREATE_P95_MS} ms: a burst of creates shares the one PGlite connection with the in-process workers already sending; a scheduler should see the campaign within a second`,
        `reminders_per_second: SMS at the local Twilio from the first burst to the last create (${Number.isFinite(smsSeconds) ? smsSeconds.toFixed(1) : '-'} s); paced by the burst schedule, not the ${SMS_PER_SECOND}/s send limit`,
        `final delivery states over all campaigns ${fmt(states)} reasons ${fmt(reasons)}`,
        ...(unsettled.length === 0 ? [] : [`not settled: ${unsettled.slice(0, 10).join(', ')}${unsettled.length > 10 ? ` and ${unsettled.length - 10} more` : ''}`]),
        ...errors.map((e) => `error: ${e}`),
      ],
    };
  } finally {
    await twilio.close();
  }
}

export const campaignScenario: Scenario = {
  name: 'campaign',
  summary: 'bursts of reminder campaigns created by schedulers at once, sent to a local Twilio',
  iterationsMean: `campaigns each scheduler creates, one per burst (${PER_CAMPAIGN} appointments each)`,
  // 20 campaigns over 240 patients: setup plus load stay under ~2 minutes on 2 cores.
  defaults: { vus: 5, duration: 20, iterations: 4 },
  settings: SETTINGS,
  settingsWhy: [
    `reminder sending on in the all-in-one process: a local Twilio (TWILIO_API_URL, TWILIO_FROM=${FROM}), CLINIC_NAME=Riverside Health, PUBLIC_URL without a 5-digit port (the PHI lint reads one as a ZIP code)`,
    `QUIET_HOURS 0–24 (send at any hour of the run), REMINDER_SMS_PER_SECOND=${SMS_PER_SECOND} (the default 1/s would make sending the whole run)`,
  ],
  run,
};
