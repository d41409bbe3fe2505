/**
 * The provider's console in real browsers, against a real gateway with a real mediasoup worker:
 * today's visits show the provider's own patients; a patient link made in the console lets the
 * patient join from a phone-sized page; "Open waiting room" leads to the visit page for that
 * visit, where the provider admits the patient and both decode each other's video. Emergency
 * access to a patient outside the care team refuses a wrong code, then grants with password +
 * code, carries on in the rotated session, opens the record, and the audit chain flags it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToCareTeam } from '../../core/identity/care-team.ts';
import { createLogger } from '../../core/log/logger.ts';
import { testConfig } from '../../gateway/testing/harness.ts';
import { createMediaService, type MediaService } from '../../media/index.ts';
import { launchBrowser, screenshot, waitForFramesDecoded, type TestBrowser } from '../helpers/browser.ts';
import { freshCode, signInConsole, startConsoleWorld, type ConsoleWorld, type StaffAccount } from '../helpers/console.ts';

let w: ConsoleWorld;
let media: MediaService;
let browser: TestBrowser;
let provider: StaffAccount;
let ownPatient: string;
let otherPatient: string;
let appointmentId: string;
const ctx = { actorType: 'system', actorId: 'test' } as const;

beforeAll(async () => {
  const env = { MEDIA_WORKERS: '1', VIDEO_EMPTY_GRACE_SECONDS: '30' };
  media = createMediaService(testConfig(env), createLogger({ level: 'silent' }));
  await media.start();
  w = await startConsoleWorld({ env, media });
  browser = await launchBrowser();
  provider = await w.staff('provider');
  ownPatient = (await w.identity.patients.create({ givenName: 'Grace', familyName: 'Hopper', birthDate: '1980-12-09', phone: '+15555550161', timeZone: 'America/New_York' }, ctx)).id;
  otherPatient = (await w.identity.patients.create({ givenName: 'Alan', familyName: 'Turing', birthDate: '1970-06-23', mrn: 'MRN-77', timeZone: 'Europe/London' }, ctx)).id;
  await addToCareTeam(w.db, provider.id, ownPatient, null);
  const start = Date.now() - 60_000;
  appointmentId = (await w.identity.appointments.create({ patientId: ownPatient, providerId: provider.id, startsAt: new Date(start), endsAt: new Date(start + 30 * 60_000) }, ctx)).id;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await w?.close();
  await media?.close();
});

describe('provider console (headless Chromium, real gateway and mediasoup worker)', () => {
  it('lists today’s visits, makes a patient link, and admits the patient into a two-way video call', { timeout: 120_000 }, async () => {
    const pro = await browser.newPage(w.url);
    pro.page.setDefaultTimeout(15_000);
    await signInConsole(pro.page, w.url, provider);
    const row = pro.page.getByTestId('visit');
    await expect.poll(() => row.first().textContent()).toContain('Grace Hopper');
    await pro.page.getByTestId(`link-${appointmentId}`).click();
    const linkUrl = await pro.page.getByTestId(`link-url-${appointmentId}`).inputValue();
    expect(linkUrl).toMatch(/\/visit\/#/);
    await screenshot(pro.page, 'console-visits');

    await pro.page.getByTestId(`join-${appointmentId}`).click();
    await pro.page.waitForURL(`${w.url}/provider/`);

    const patient = await browser.newPage(w.url, { viewport: { width: 375, height: 667 } });
    await patient.page.goto(linkUrl);
    await patient.page.getByTestId('join').click();
    const admit = pro.page.locator('[data-testid^="admit-"]');
    await admit.waitFor({ timeout: 20_000 });
    await admit.click();
    await waitForFramesDecoded(patient.page, 30, 30_000);
    await waitForFramesDecoded(pro.page, 30, 30_000);
    await screenshot(pro.page, 'console-visit-call');
    expect(await pro.page.title()).not.toContain('Hopper');
    const admitted = (await w.db.query<{ action: string }>("SELECT action FROM audit_log WHERE action IN ('visit.link.redeem', 'visit.admit')")).map((r) => r.action);
    expect(admitted).toEqual(expect.arrayContaining(['visit.link.redeem', 'visit.admit']));
  });

  it('grants emergency access after re-authentication, flags it in the audit chain, and refuses a wrong code', { timeout: 120_000 }, async () => {
    const { page, problems } = await browser.newPage(w.url);
    page.setDefaultTimeout(15_000);
    await signInConsole(page, w.url, provider);
    await page.getByTestId('nav-emergency-access').click();
    // Outside the care team: the record is refused before emergency access.
    const before = await page.evaluate<number>(`fetch('/patients/${otherPatient}').then((r) => r.status)`);
    expect(before).toBe(403);

    await page.getByTestId('bg-patient').fill(otherPatient);
    await page.getByTestId('bg-reason').fill('Unconscious in the emergency department, no care team reachable');
    await page.getByTestId('bg-password').fill(provider.password);
    await page.getByTestId('bg-code').fill('000000');
    await page.getByTestId('bg-submit').click();
    await expect.poll(() => page.getByTestId('error').textContent()).toContain('Password or code is not correct');
    // The reason and patient survive the refusal; only the secrets are cleared.
    expect(await page.getByTestId('bg-reason').inputValue()).toContain('Unconscious');

    await page.getByTestId('bg-password').fill(provider.password);
    await page.getByTestId('bg-code').fill(await freshCode(provider));
    await page.getByTestId('bg-submit').click();
    await expect.poll(() => page.getByTestId('grant-state').textContent()).toMatch(/Active: \d+ min left/);
    await page.getByTestId('open-record').click();
    await expect.poll(() => page.getByTestId('record').textContent()).toContain('Alan Turing');
    await screenshot(page, 'console-emergency-access');
    // The console carries on in the rotated session (its CSRF token works for writes).
    const stillIn = await page.evaluate<number>(`fetch('/auth/session').then((r) => r.status)`);
    expect(stillIn).toBe(200);
    await page.getByTestId('nav-visits').click();
    await page.getByTestId('refresh-visits').click();
    await page.getByTestId('visit').first().waitFor();

    const flagged = await w.db.query<{ action: string }>('SELECT action FROM audit_log WHERE break_glass AND patient_id = $1', [otherPatient]);
    expect(flagged.map((r) => r.action)).toContain('patient.view');
    const [grant] = await w.db.query<{ status: string }>('SELECT status FROM break_glass WHERE patient_id = $1', [otherPatient]);
    expect(grant?.status).toBe('open');
    expect(problems.filter((p) => !/status of 4\d\d|ERR_ABORTED/.test(p.text))).toEqual([]);
  });
});
