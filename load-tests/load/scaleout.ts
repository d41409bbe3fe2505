/**
 * `npm run load -- scaleout`: the deployment scaled out on one machine — one PostgreSQL, one
 * Redis, 3 gateway processes (`telehealth gateway` on the shared database: HTTP, WebSocket, video, no reminder sending) and 2 reminder worker
 * processes (`telehealth worker`) — under two loads at once:
 *  - messaging: --vus device pairs, each provider on one gateway and its patient on the next, so
 *    every end-to-end-encrypted text crosses processes; each device sends --iterations texts over
 *    --duration s; every text is counted per id at the recipient (0 lost, 0 duplicated);
 *  - reminders: a campaign over 200 consenting patients (plus 20 without consent) created through
 *    one gateway and sent to a local Twilio; counted per number (each consenting one exactly once,
 *    the others never). Each process has its own sending number, so the counts show who sent.
 * There is no separate media process: media runs inside each gateway (there is no separate `media` command).
 *
 * It starts its own deployment (not the single-process one of `ctx.deploy`); see docs/performance.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startScaleOutDeployment, type ScaleOutDeployment } from './deployment.ts';
import type { MetricSummary } from './metrics.ts';
import { prepareCampaign, reminderCounts } from './scaleout-campaign.ts';
import { closeXDevice, seedCrossPair, TextLedger, type XPair } from './scaleout-pairs.ts';
import { startLocalTwilio, type LocalTwilio } from './scaleout-twilio.ts';
import { firstSignIn, mapLimit } from './seed.ts';
import { every, sleep, type Scenario, type ScenarioContext, type ScenarioOutcome } from './scenario.ts';

const GATEWAYS = 3;
const WORKERS = 2;
const WORKER_CONCURRENCY = 16;
const CONSENTING = 200;
const NOT_CONSENTING = 20;
const SETTLE_MS = 15_000;
const CAMPAIGN_TIMEOUT_MS = 120_000;
const SETUP_CONCURRENCY = 3;

const fromNumber = (role: 'gateway' | 'worker', i: number): string => `+1555550${role === 'gateway' ? 1 : 2}${String(i).padStart(2, '0')}`;

function settings(twilio: LocalTwilio): Record<string, string> {
  return {
    APP_ENV: 'development',
    LOG_LEVEL: 'warn',
    MESSAGE_SEND_PER_MINUTE: '100000',
    MEDIA_WORKERS: '1',
    // Not a word of the synthetic patients' names: the PHI lint refuses a text naming the patient.
    CLINIC_NAME: 'Riverside Health',
    // One public origin for the whole deployment, as behind a load balancer. Also keeps the
    // portal link free of a 5-digit port, which the reminder PHI lint takes for a ZIP code.
    PUBLIC_URL: 'http://127.0.0.1:8080',
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_AUTH_TOKEN: twilio.authToken,
    TWILIO_API_URL: twilio.url,
    // Overridden per process (who sent what); this one only satisfies the configuration check.
    TWILIO_FROM: '+15555500999',
    QUIET_HOURS_START: '0',
    QUIET_HOURS_END: '24',
    REMINDER_SMS_PER_SECOND: '200',
  };
}

async function run(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const { options, progress } = ctx;
  const twilio = await startLocalTwilio();
  let dep: ScaleOutDeployment | undefined;
  const dir = await mkdtemp(path.join(tmpdir(), 'th-scaleout-stores-'));
  const pairs: XPair[] = [];
  const ledger = new TextLedger();
  try {
    dep = await startScaleOutDeployment(
      { gateways: GATEWAYS, workers: WORKERS, workerConcurrency: WORKER_CONCURRENCY, settings: settings(twilio), perProcess: (role, i) => ({ TWILIO_FROM: fromNumber(role, i) }) },
      progress,
    );
    const urls = dep.gatewayUrls;
    progress(`up: ${urls.join(' ')}`);
    const admin = await firstSignIn(urls[0] ?? '', dep.admin.username, dep.admin.password);

    progress(`seeding ${options.vus} cross-gateway pairs`);
    await mapLimit(
      Array.from({ length: options.vus }, (_, i) => i),
      SETUP_CONCURRENCY,
      async (i) => {
        const p = await seedCrossPair(urls, admin.token, dir, i);
        pairs.push(p);
        for (const d of [p.provider, p.patient]) {
          ledger.listen(d);
          await d.messenger.start();
        }
      },
    );
    // One exchange each way per pair, unmeasured: sets up the libsignal sessions.
    await mapLimit(pairs, SETUP_CONCURRENCY, async (p) => {
      for (const [from, to, dir] of [[p.provider, p.patient, 'p'], [p.patient, p.provider, 'q']] as const) {
        const id = `w:${p.index}:${dir}`;
        await ledger.send(from, to, id);
        await ledger.arrival(id, 30_000);
      }
    });
    const providerId = pairs[0]?.providerStaffId ?? '';
    const campaign = await prepareCampaign({ urls, adminToken: admin.token, providerId, consenting: CONSENTING, nonConsenting: NOT_CONSENTING, progress });

    const devices = pairs.flatMap((p) => [
      { from: p.provider, to: p.patient, prefix: `m:${p.index}:p:` },
      { from: p.patient, to: p.provider, prefix: `m:${p.index}:q:` },
    ]);
    const total = devices.length * options.iterations;
    const intervalMs = (options.duration * 1000) / options.iterations;
    progress(`load: ${total} texts over ${options.duration} s across ${GATEWAYS} gateways, and a ${CONSENTING + NOT_CONSENTING}-patient campaign`);
    const start = performance.now();
    const stopProgress = every(2000, () => {
      const c = ledger.counts('m:');
      progress(`${((performance.now() - start) / 1000).toFixed(0).padStart(4)} s  texts sent ${c.sent}/${total} delivered ${c.delivered}  reminders at Twilio ${twilio.created()}`);
    });
    let progressAtEnd;
    const launching = campaign.launch();
    try {
      const campaignDone = launching.then((l) => campaign.settle(l.id, CAMPAIGN_TIMEOUT_MS));
      // Awaited below; until then a failure must not count as unhandled while texts are sent.
      campaignDone.catch(() => undefined);
      const inFlight: Promise<void>[] = [];
      await Promise.all(
        devices.map(async (d, k) => {
          const phase = (k / devices.length) * intervalMs;
          for (let seq = 0; seq < options.iterations; seq++) {
            await sleep(start + phase + seq * intervalMs - performance.now());
            inFlight.push(ledger.send(d.from, d.to, `${d.prefix}${seq}`));
          }
        }),
      );
      await Promise.all(inFlight);
      const settleBy = performance.now() + SETTLE_MS;
      while (ledger.counts('m:').lost > 0 && performance.now() < settleBy) await sleep(50);
      progressAtEnd = await campaignDone;
      // Time for a late duplicate (text or SMS) to show up.
      await sleep(2000);
    } finally {
      stopProgress();
    }
    const launched = await launching;
    const texts = ledger.counts('m:');
    const textSeconds = (ledger.lastArrival - start) / 1000;
    const r = reminderCounts(campaign, twilio);
    const span = twilio.span();
    const smsSeconds = (span.last - launched.t0) / 1000;
    const senders = [...twilio.perFrom.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([from, n]) => `${from.startsWith('+15555501') ? `gateway ${Number(from.slice(-2))}` : `worker ${Number(from.slice(-2))}`}: ${n}`);
    const metrics: Record<string, MetricSummary> = {
      e2e_ms: ledger.e2e.summary(),
      texts_sent: { type: 'counter', value: texts.sent },
      texts_delivered: { type: 'counter', value: texts.delivered },
      texts_lost: { type: 'counter', value: texts.lost },
      texts_duplicated: { type: 'counter', value: texts.duplicated },
      texts_per_second: { type: 'counter', value: Math.round((texts.delivered / textSeconds) * 10) / 10 },
      client_errors: { type: 'counter', value: ledger.errorCount + ledger.unknown },
      reminders_expected: { type: 'counter', value: CONSENTING },
      reminders_sent: { type: 'counter', value: twilio.created() },
      reminders_missed: { type: 'counter', value: r.missed },
      reminders_duplicated: { type: 'counter', value: r.duplicated },
      reminders_to_non_consenting: { type: 'counter', value: r.unexpected },
      reminders_per_second: { type: 'counter', value: Math.round((twilio.created() / smsSeconds) * 10) / 10 },
      // Two workers settle its last deliveries concurrently; the campaign must still end completed.
      campaign_completed: { type: 'counter', value: progressAtEnd.status === 'completed' ? 1 : 0 },
    };
    return {
      metrics,
      thresholds: [
        { metric: 'texts_sent', stat: 'value', op: '==', limit: total },
        { metric: 'texts_lost', stat: 'value', op: '==', limit: 0 },
        { metric: 'texts_duplicated', stat: 'value', op: '==', limit: 0 },
        { metric: 'client_errors', stat: 'value', op: '==', limit: 0 },
        { metric: 'reminders_sent', stat: 'value', op: '==', limit: CONSENTING },
        { metric: 'reminders_missed', stat: 'value', op: '==', limit: 0 },
        { metric: 'reminders_duplicated', stat: 'value', op: '==', limit: 0 },
        { metric: 'reminders_to_non_consenting', stat: 'value', op: '==', limit: 0 },
        { metric: 'campaign_completed', stat: 'value', op: '==', limit: 1 },
      ],
      notes: [
        ...dep.processes,
        `${pairs.length} pairs, provider on gateway k mod ${GATEWAYS}, patient on gateway k+1 mod ${GATEWAYS}; one text every ${intervalMs.toFixed(0)} ms per device`,
        `campaign ${launched.id}: ${CONSENTING} consenting + ${NOT_CONSENTING} not; final states ${JSON.stringify(progressAtEnd.states)} reasons ${JSON.stringify(progressAtEnd.reasons)}`,
        `reminders by sending process: ${senders.join(', ') || 'none'}`,
        `reminders/s: from POST /campaigns to the last create at Twilio (${smsSeconds.toFixed(1)} s); REMINDER_SMS_PER_SECOND=200`,
        ...ledger.errors.slice(0, 5).map((e) => `client error: ${e}`),
      ],
    };
  } finally {
    for (const p of pairs) {
      await closeXDevice(p.provider).catch(() => undefined);
      await closeXDevice(p.patient).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
    if (dep !== undefined) await dep.stop();
    await twilio.close();
  }
}

export const scaleoutScenario: Scenario = {
  name: 'scaleout',
  summary: 'PostgreSQL + Redis, 3 gateways, 2 reminder workers: cross-gateway texts and a 200-patient campaign',
  iterationsMean: 'texts each device sends (spread over --duration)',
  defaults: { vus: 6, duration: 30, iterations: 30 },
  settings: {},
  settingsWhy: ['own deployment (see notes); MESSAGE_SEND_PER_MINUTE=100000, QUIET_HOURS 0–24, REMINDER_SMS_PER_SECOND=200, MEDIA_WORKERS=1 per gateway'],
  run,
};
