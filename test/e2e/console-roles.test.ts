/**
 * One clinic day across every console, in real browsers against a real gateway, a real mediasoup
 * worker and a real reminder worker (twilio library → local Twilio API):
 *   1. the administrator creates a provider and a scheduler, and puts a patient on the
 *      provider's care team;
 *   2. the scheduler (first sign-in: authenticator enrollment) records the patient's consent,
 *      books a visit, has a PHI word flagged in a template, fixes and saves it, launches a
 *      campaign and watches its progress bar reach 100%;
 *   3. the provider makes the patient's link; the patient joins from a phone-sized page; the
 *      provider admits them from the waiting room and both see each other's video;
 *   4. the auditor finds those events, sees the chain verify, and is signed out automatically
 *      after the idle warning.
 * Screenshots of each step go to test-artifacts/.
 */
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log/logger.ts';
import { testConfig } from '../../gateway/testing/harness.ts';
import { createMediaService, type MediaService } from '../../media/index.ts';
import { launchBrowser, screenshot, waitForFramesDecoded, type PageProblem, type TestBrowser } from '../helpers/browser.ts';
import { signInConsole, startConsoleWorld, type ConsoleWorld, type StaffAccount, type StaffRole } from '../helpers/console.ts';
import { startReminderWorker, type ReminderWorker } from '../helpers/reminder-world.ts';

const PASSWORD = 'quiet harbor lantern mosaic 2041';
const PHONE = '+15555550188';
/** Long enough for every step, short enough to watch the auditor's automatic logoff (warning 15 s before). */
const IDLE_SEC = 30;

let world: ConsoleWorld;
let media: MediaService;
let reminders: ReminderWorker;
let browser: TestBrowser;
let patientId: string;

beforeAll(async () => {
  const env = { MEDIA_WORKERS: '1', VIDEO_EMPTY_GRACE_SECONDS: '30', SESSION_IDLE_TIMEOUT_SEC: String(IDLE_SEC), SESSION_SWEEP_INTERVAL_MS: '250' };
  media = createMediaService(testConfig(env), createLogger({ level: 'silent' }));
  await media.start();
  const bullPrefix = `{console-day-${randomUUID().slice(0, 8)}}`;
  world = await startConsoleWorld({ bullPrefix, media, env });
  reminders = await startReminderWorker(world, { bullPrefix });
  browser = await launchBrowser();
  patientId = (await world.identity.patients.create({ givenName: 'Ada', familyName: 'Lovelace', phone: PHONE, timeZone: 'America/Chicago' }, { actorType: 'system', actorId: 'registration' })).id;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await reminders?.close();
  await world?.close();
  await media?.close();
});

const unexpected = (problems: readonly PageProblem[]): PageProblem[] => problems.filter((p) => !/status of 4\d\d|ERR_ABORTED/.test(p.text));

/** `YYYY-MM-DDTHH:mm` in local time (the browser runs in this process's zone). */
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

async function createUser(page: Page, role: StaffRole, displayName: string): Promise<StaffAccount> {
  const username = `${role}-${randomUUID().slice(0, 6)}`;
  await page.getByTestId('new-username').fill(username);
  await page.getByTestId('new-display-name').fill(displayName);
  await page.getByTestId('new-role').selectOption(role);
  await page.getByTestId('new-password').fill(PASSWORD);
  await page.getByTestId('create-user').click();
  await expect.poll(() => page.getByTestId('users-notice').textContent()).toContain(`Added ${username}`);
  const [row] = await world.db.query<{ id: string; role: string }>('SELECT id, role FROM users WHERE username = $1', [username]);
  expect(row?.role).toBe(role);
  return { id: row?.id ?? '', username, password: PASSWORD, role, token: '', totpSecret: undefined, lastCode: undefined };
}

describe('a clinic day across the consoles (headless Chromium; real gateway, mediasoup and reminder worker)', () => {
  it('admin → scheduler → provider with a patient on video → auditor, then automatic logoff', { timeout: 240_000 }, async () => {
    // ---- 1. Administrator
    const adminAccount = await world.staff('admin');
    const admin = await browser.newPage(world.url);
    admin.page.setDefaultTimeout(15_000);
    await signInConsole(admin.page, world.url, adminAccount);
    const provider = await createUser(admin.page, 'provider', 'Dr. Rivera');
    const scheduler = await createUser(admin.page, 'scheduler', 'Sam Scheduler');
    await admin.page.getByTestId('nav-care-teams').click();
    await admin.page.getByTestId('care-team-provider').selectOption(provider.id);
    await admin.page.getByTestId('care-team-patient').fill(patientId);
    await admin.page.getByTestId('add-patient').click();
    await expect.poll(() => admin.page.getByTestId('care-team-row').getByTestId('care-team-patient-id').allTextContents()).toEqual([patientId]);
    await screenshot(admin.page, 'day-1-admin-care-team');

    // ---- 2. Scheduler
    const sched = await browser.newPage(world.url);
    sched.page.setDefaultTimeout(15_000);
    await signInConsole(sched.page, world.url, scheduler);
    await sched.page.getByTestId('nav-consent').click();
    const adaRow = sched.page.getByTestId('consent-row').filter({ hasText: 'Ada Lovelace' });
    await adaRow.getByTestId('record-consent').click();
    const consent = sched.page.getByTestId('consent-dialog');
    await consent.getByTestId('consent-channel').selectOption('sms');
    await consent.getByTestId('consent-evidence').fill('intake-form-0042');
    await consent.getByTestId('consent-save').click();
    await expect.poll(() => adaRow.getByTestId('consent-sms-appointment_reminders').textContent()).toBe('Granted');

    await sched.page.getByTestId('nav-appointments').click();
    await sched.page.getByTestId('book-patient').selectOption({ label: 'Ada Lovelace' });
    await sched.page.getByTestId('book-provider').selectOption(provider.id);
    // Five minutes ahead: the reminder goes out before the start (a visit already started is
    // skipped), and the room opens VISIT_LINK_LEAD_MINUTES (15) before it, so the call works now.
    await sched.page.getByTestId('book-start').fill(localInput(new Date(Date.now() + 5 * 60_000)));
    await sched.page.getByTestId('book').click();
    await expect.poll(() => sched.page.getByTestId('appointments-notice').textContent()).toContain('Booked for Ada Lovelace');
    const [booked] = await world.db.query<{ id: string }>('SELECT id FROM appointments WHERE patient_id = $1 AND provider_id = $2', [patientId, provider.id]);
    const appointmentId = booked?.id ?? '';
    expect(appointmentId).not.toBe('');

    await sched.page.getByTestId('nav-templates').click();
    await sched.page.getByTestId('new-template').click();
    await sched.page.getByTestId('template-name').fill('day-reminder');
    const body = sched.page.getByTestId('template-body');
    await body.fill('Hi Ada, your psychiatry visit is {{time_word}}. {{portal_link}} {{opt_out}}');
    await expect.poll(() => sched.page.getByTestId('lint-status').getAttribute('data-state')).toBe('problems');
    expect((await sched.page.getByTestId('flagged-words').allTextContents()).join(' ')).toMatch(/Ada|psychiatry/i);
    await screenshot(sched.page, 'day-2-scheduler-template-flagged');
    await body.fill('This is {{clinic_name}}: you have a visit {{time_word}}. {{portal_link}} {{opt_out}}');
    await expect.poll(() => sched.page.getByTestId('lint-status').getAttribute('data-state')).toBe('ok');
    await sched.page.getByTestId('template-save').click();
    await expect.poll(() => sched.page.getByTestId('template-saved').textContent()).toContain('version 1');

    await sched.page.getByTestId('nav-campaigns').click();
    await sched.page.getByTestId('campaign-template').selectOption({ label: 'day-reminder (latest: version 1)' });
    await sched.page.getByTestId('campaign-launch').click();
    const detail = sched.page.getByTestId('campaign-detail');
    await expect.poll(() => detail.getByTestId('campaign-progress').getAttribute('data-percent'), { timeout: 30_000 }).toBe('100');
    await expect.poll(() => detail.getByTestId('state-sent').textContent()).toBe('1');
    await screenshot(sched.page, 'day-2-scheduler-campaign');
    const texts = reminders.fake.messages.filter((m) => m.to === PHONE);
    expect(texts).toHaveLength(1);
    expect(texts[0]?.body).not.toMatch(/Ada|Lovelace|psychiatry/i);

    // ---- 3. Provider and patient
    const pro = await browser.newPage(world.url);
    pro.page.setDefaultTimeout(15_000);
    await signInConsole(pro.page, world.url, provider);
    await expect.poll(() => pro.page.getByTestId('visit').first().textContent()).toContain('Ada Lovelace');
    await pro.page.getByTestId(`link-${appointmentId}`).click();
    const linkUrl = await pro.page.getByTestId(`link-url-${appointmentId}`).inputValue();
    await pro.page.getByTestId(`join-${appointmentId}`).click();
    await pro.page.waitForURL(`${world.url}/provider/`);
    const patient = await browser.newPage(world.url, { viewport: { width: 375, height: 667 } });
    await patient.page.goto(linkUrl);
    await patient.page.getByTestId('join').click();
    const admit = pro.page.locator('[data-testid^="admit-"]');
    await admit.waitFor({ timeout: 20_000 });
    await admit.click();
    await waitForFramesDecoded(patient.page, 30, 30_000);
    await waitForFramesDecoded(pro.page, 30, 30_000);
    await screenshot(pro.page, 'day-3-provider-call');
    await screenshot(patient.page, 'day-3-patient-call');
    await patient.page.getByTestId('leave').click();
    await pro.page.getByTestId('leave').click();

    // ---- 4. Auditor
    const auditorAccount = await world.staff('auditor');
    const aud = await browser.newPage(world.url);
    aud.page.setDefaultTimeout(15_000);
    await signInConsole(aud.page, world.url, auditorAccount);
    for (const [action, actor] of [
      ['user.create', adminAccount.id],
      ['campaign.create', scheduler.id],
      ['visit.admit', provider.id],
    ] as const) {
      await aud.page.getByTestId('search-action').selectOption(action);
      await aud.page.getByTestId('search-actor').fill(actor);
      await aud.page.getByTestId('search-run').click();
      // The results of this search, not the previous one's still on screen.
      await expect.poll(() => aud.page.getByTestId('search-results').textContent(), { message: action }).toContain(action);
      expect(await aud.page.getByTestId('audit-row').count()).toBeGreaterThan(0);
    }
    await screenshot(aud.page, 'day-4-auditor-search');
    await aud.page.getByTestId('nav-chain').click();
    await expect.poll(() => aud.page.getByTestId('chain-state').textContent(), { timeout: 15_000 }).toBe('Intact');
    await screenshot(aud.page, 'day-4-auditor-chain');

    // Hands off the keyboard: the warning, then the signed-out screen.
    await aud.page.getByTestId('idle-warning').waitFor({ state: 'visible', timeout: (IDLE_SEC + 5) * 1000 });
    await screenshot(aud.page, 'day-4-idle-warning');
    await aud.page.getByTestId('signed-out').waitFor({ timeout: 25_000 });
    expect(await aud.page.getByTestId('signed-out').getAttribute('data-reason')).toBe('idle');

    // Nothing in the browsers' address bars or titles names the patient.
    for (const p of [admin, sched, pro, patient, aud]) {
      expect(p.page.url()).not.toMatch(/Ada|Lovelace|5555550188/);
      expect(await p.page.title()).not.toMatch(/Ada|Lovelace/);
      expect(unexpected(p.problems)).toEqual([]);
    }
  });
});
