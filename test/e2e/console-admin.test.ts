/**
 * The admin console in a real browser against a real gateway: an admin adds a provider and a
 * scheduler (a weak password is refused first, with the gateway's reasons next to the field),
 * changes a role, puts a patient on the provider's care team by record id (bad and unknown ids
 * are refused with what to do), removes the provider's messaging device, and revokes the
 * provider's browser session: the provider's page, open in another browser context, ends on the
 * signed-out screen at its next check while their other session stays. Every step is checked
 * on the server too (API, database, audit chain). A second admin sees an account locked out by
 * failed sign-ins and unlocks it, disables and re-enables an account (its sessions end), and
 * resets a lost authenticator. Screenshots go to test-artifacts/.
 */
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpSecretAad } from '../../core/crypto/index.ts';
import { generateSecret } from '../../gateway/auth/totp.ts';
import { testDevice } from '../../gateway/keys/test-keys.ts';
import { launchBrowser, screenshot, type PageProblem, type TestBrowser } from '../helpers/browser.ts';
import { signInConsole, startConsoleWorld, type ConsoleWorld, type StaffAccount } from '../helpers/console.ts';

let w: ConsoleWorld;
let browser: TestBrowser;
let admin: StaffAccount;
let patientId: string;

beforeAll(async () => {
  w = await startConsoleWorld();
  browser = await launchBrowser();
  admin = await w.staff('admin');
  patientId = (
    await w.identity.patients.create(
      { givenName: 'Ada', familyName: 'Lovelace', birthDate: '1990-04-01', phone: '+15555550123', email: 'ada@example.org', mrn: 'MRN-77', timeZone: 'America/New_York' },
      { actorType: 'system', actorId: 'test' },
    )
  ).id;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await w?.close();
});

interface ApiUser {
  id: string;
  username: string;
  role: string;
  status: string;
  mfaEnrolled: boolean;
}

async function api<T>(path: string, token: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${w.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

/** Refusals the test provokes on purpose show up as console errors ("status of 4xx"); anything else is a bug. */
const unexpected = (problems: readonly PageProblem[]): PageProblem[] => problems.filter((p) => !/status of 4\d\d/.test(p.text));

/** The full ids behind the shortened ones the sessions table shows. */
async function listedSessionIds(page: Page): Promise<(string | null)[]> {
  const cells = await page.getByTestId('session-id').all();
  return Promise.all(cells.map((c) => c.getAttribute('data-session-id')));
}

const userRow = (page: Page, username: string) => page.getByTestId('user-row').filter({ hasText: username });

async function addAccount(page: Page, username: string, displayName: string, role: string, password: string): Promise<void> {
  await page.getByTestId('new-username').fill(username);
  await page.getByTestId('new-display-name').fill(displayName);
  await page.getByTestId('new-role').selectOption(role);
  await page.getByTestId('new-password').fill(password);
  await page.getByTestId('create-user').click();
}

describe('admin console (headless Chromium, real gateway)', () => {
  it('adds staff, manages a care team and a device, and revokes a session that then ends in the other browser', async () => {
    const { page, problems } = await browser.newPage(w.url);
    await signInConsole(page, w.url, admin);
    expect(await page.getByTestId('role').textContent()).toBe('Administrator');
    expect(await page.title()).toBe('Users — Clinic console');

    // ---- Users: a weak password is refused with the reasons beside the field; the form keeps its input.
    const suffix = randomUUID().slice(0, 6);
    const providerName = `dr-rivera-${suffix}`;
    const schedulerName = `sam-lee-${suffix}`;
    const strong = 'violet kettle marathon 93 quietly';
    await addAccount(page, providerName, 'Dr. Rivera', 'provider', 'sunshine');
    const passwordProblem = page.getByTestId('field-password').locator('.field-problem');
    await passwordProblem.waitFor();
    expect(await passwordProblem.textContent()).toContain('Use at least 12 characters.');
    expect(await page.getByTestId('create-user-form').getByTestId('error').textContent()).toBe('The account was not created. Correct the marked fields and try again.');
    expect(await page.getByTestId('new-username').inputValue()).toBe(providerName);
    expect(await page.getByTestId('new-display-name').inputValue()).toBe('Dr. Rivera');
    expect(await page.getByTestId('new-password').getAttribute('aria-invalid')).toBe('true');
    expect(await userRow(page, providerName).count()).toBe(0);

    await page.getByTestId('new-password').fill(strong);
    await page.getByTestId('create-user').click();
    await expect.poll(() => page.getByTestId('users-notice').textContent()).toBe(`Added ${providerName} as Provider. They set up their authenticator at first sign-in.`);
    await userRow(page, providerName).waitFor();
    expect(await passwordProblem.count()).toBe(0);
    expect(await page.getByTestId('new-username').inputValue()).toBe('');

    await addAccount(page, schedulerName, 'Sam Lee', 'scheduler', strong);
    await userRow(page, schedulerName).waitFor();
    for (const [name, role] of [
      [providerName, 'Provider'],
      [schedulerName, 'Scheduler'],
    ] as const) {
      const row = userRow(page, name);
      expect(await row.getByTestId('user-role').textContent()).toBe(role);
      expect(await row.getByTestId('user-status').textContent()).toBe('Active');
      expect(await row.getByTestId('user-mfa').textContent()).toBe('Not yet');
    }

    // The gateway agrees: right roles, active, no authenticator yet; the password is stored hashed.
    const listed = (await api<{ users: ApiUser[] }>('/admin/users', admin.token)).body.users;
    const provider = listed.find((u) => u.username === providerName);
    const scheduler = listed.find((u) => u.username === schedulerName);
    expect(provider).toMatchObject({ role: 'provider', status: 'active', mfaEnrolled: false });
    expect(scheduler).toMatchObject({ role: 'scheduler', status: 'active', mfaEnrolled: false });
    if (provider === undefined || scheduler === undefined) throw new Error('created accounts are missing');
    const stored = await w.db.query<{ username: string; role: string; password_hash: string; created_by: string }>(
      'SELECT username, role, password_hash, created_by FROM users WHERE id = ANY($1::uuid[]) ORDER BY username',
      [[provider.id, scheduler.id]],
    );
    expect(stored.map((r) => [r.username, r.role, r.created_by])).toEqual([
      [providerName, 'provider', admin.id],
      [schedulerName, 'scheduler', admin.id],
    ]);
    for (const r of stored) expect(r.password_hash).not.toContain(strong);

    // A role change is confirmed first (it signs the user out everywhere).
    await userRow(page, schedulerName).getByTestId('manage').click();
    const manage = page.getByTestId('manage-user');
    await manage.getByTestId('manage-role').selectOption('auditor');
    await manage.getByTestId('change-role').click();
    const confirm = page.getByTestId('confirm');
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain('signed out everywhere');
    await confirm.getByTestId('confirm-yes').click();
    await expect.poll(() => userRow(page, schedulerName).getByTestId('user-role').textContent()).toBe('Auditor');
    expect(await page.getByTestId('users-notice').textContent()).toContain(`${schedulerName} is now Auditor`);
    expect((await w.db.query<{ role: string }>('SELECT role FROM users WHERE id = $1', [scheduler.id]))[0]?.role).toBe('auditor');
    await userRow(page, providerName).getByTestId('manage').click();
    await manage.getByText(`Manage ${providerName}`).waitFor();
    await screenshot(page, 'console-users');

    // ---- Care teams: by record id only (admins never read patient records).
    await manage.getByTestId('goto-care-team').click();
    await page.getByTestId('care-team-table').waitFor();
    await expect.poll(() => page.title()).toBe('Care teams — Clinic console');
    await expect.poll(() => page.getByTestId('care-team-provider').inputValue()).toBe(provider.id);
    expect(await page.getByTestId('minimum-necessary').textContent()).toContain('Administrators do not see patient records');
    await page.getByTestId('care-team-patient').fill('Ada Lovelace');
    await page.getByTestId('add-patient').click();
    await page.getByTestId('care-team-add').locator('.field-problem').waitFor();
    expect(await page.getByTestId('care-team-add').locator('.field-problem').textContent()).toContain('A record id has 36 characters');
    await page.getByTestId('care-team-patient').fill(randomUUID());
    await page.getByTestId('add-patient').click();
    await expect.poll(() => page.getByTestId('care-team-add').getByTestId('error').textContent()).toBe('No patient has that record id, or the record was erased. Check the id with the scheduler and try again.');
    await page.getByTestId('care-team-patient').fill(patientId);
    await page.getByTestId('add-patient').click();
    await expect.poll(() => page.getByTestId('care-team-row').getByTestId('care-team-patient-id').allTextContents()).toEqual([patientId]);
    expect(await page.getByTestId('care-team-notice').textContent()).toBe(`Patient ${patientId} is on the care team of ${providerName}.`);
    expect(await page.getByTestId('care-team-table').textContent()).not.toMatch(/Ada|Lovelace|MRN/);
    expect(await w.db.query('SELECT added_by FROM care_team WHERE provider_id = $1 AND patient_id = $2', [provider.id, patientId])).toEqual([{ added_by: admin.id }]);
    await screenshot(page, 'console-care-teams');

    // ---- The new provider signs in on a second browser (own cookies), with the password the admin typed.
    const providerAccount: StaffAccount = { id: provider.id, username: providerName, password: strong, role: 'provider', token: '', totpSecret: undefined, lastCode: undefined };
    const other = await browser.newPage(w.url);
    // The provider's page runs on a controllable clock so the test need not sit out the 30 s session poll.
    await other.page.clock.install();
    await signInConsole(other.page, w.url, providerAccount);
    expect(await other.page.getByTestId('role').textContent()).toBe('Provider');
    // The care team the admin set is what the provider now reaches.
    const apiSession = await w.identity.sessions.create({ kind: 'staff', userId: provider.id, role: 'provider', patientId: null, scope: null, appointmentId: null });
    expect((await api<{ patients: { id: string }[] }>('/patients', apiSession.token)).body.patients.map((p) => p.id)).toEqual([patientId]);
    // …and their messenger registers a device (the admin removes it below).
    const registered = await api<{ deviceId: number }>('/v1/devices', apiSession.token, { method: 'POST', body: { ...testDevice().registration({ preKeys: 2 }), label: 'clinic laptop' } });
    expect(registered.status).toBe(201);

    // ---- Devices: removal is confirmed (keys and waiting messages go with it).
    await page.getByTestId('nav-devices').click();
    await page.getByTestId('devices-user').selectOption(provider.id);
    await expect.poll(() => page.getByTestId('device-name').allTextContents()).toEqual([`Device ${registered.body.deviceId} (clinic laptop)`]);
    await screenshot(page, 'console-devices');
    await page.getByTestId('remove-device').click();
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain('deletes the device’s encryption keys and every message still waiting for it');
    await confirm.getByTestId('confirm-no').click();
    await confirm.waitFor({ state: 'detached' });
    expect((await api<{ devices: unknown[] }>('/v1/devices', apiSession.token)).body.devices).toHaveLength(1);
    await page.getByTestId('remove-device').click();
    await confirm.getByTestId('confirm-yes').click();
    await expect.poll(() => page.getByTestId('devices-notice').textContent()).toContain('was removed with its keys and waiting messages');
    await expect.poll(() => page.getByTestId('device-row').count()).toBe(0);
    expect((await api<{ devices: unknown[] }>('/v1/devices', apiSession.token)).body.devices).toEqual([]);
    expect((await api<{ devices: unknown[] }>(`/admin/users/${provider.id}/devices`, admin.token)).body.devices).toEqual([]);

    // ---- Sessions: the provider has two (their browser and the API one); revoke the browser's.
    await page.getByTestId('nav-sessions').click();
    // Still the provider: the account being worked on follows the admin between sections.
    await expect.poll(() => page.getByTestId('sessions-user').inputValue()).toBe(provider.id);
    await expect.poll(() => page.getByTestId('session-row').count()).toBe(2);
    const ids = await listedSessionIds(page);
    const browserSessionId = ids.find((id) => id !== apiSession.session.id);
    expect(ids).toContain(apiSession.session.id);
    if (browserSessionId === undefined || browserSessionId === null) throw new Error('the provider’s browser session is not listed');
    await screenshot(page, 'console-sessions');
    await page.getByTestId('session-row').filter({ has: page.locator(`[data-session-id="${browserSessionId}"]`) }).getByTestId('revoke-session').click();
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain('signed out at once on every page and connection that uses this session');
    await confirm.getByTestId('confirm-yes').click();
    await expect.poll(() => page.getByTestId('sessions-notice').textContent()).toBe(`Session ${browserSessionId.slice(0, 8)} ended: ${providerName} is signed out of it everywhere it was used.`);
    await expect.poll(() => listedSessionIds(page), { timeout: 20_000 }).toEqual([apiSession.session.id]);

    // The provider's page finds out at its next session check and shows the signed-out screen.
    expect(await other.page.getByTestId('role').count()).toBe(1);
    await other.page.clock.fastForward(31_000);
    await other.page.getByTestId('signed-out').waitFor({ timeout: 10_000 });
    expect(await other.page.getByTestId('signed-out').getAttribute('data-reason')).toBe('expired');
    expect(await other.page.getByTestId('role').count()).toBe(0);
    expect(await other.page.evaluate<number>(`fetch('/auth/session').then((r) => r.status)`)).toBe(401);
    // Only that session ended: the provider's other session and the admin's own still work.
    expect((await api('/auth/session', apiSession.token)).status).toBe(200);
    expect(await page.getByTestId('role').textContent()).toBe('Administrator');
    await expect
      .poll(async () => (await w.db.query<{ actor_id: string }>(`SELECT actor_id FROM audit_log WHERE action = 'session.revoke' AND resource_id = $1`, [browserSessionId])).map((r) => r.actor_id))
      .toEqual([admin.id]);

    expect(unexpected(problems)).toEqual([]);
    expect(unexpected(other.problems)).toEqual([]);
  }, 90_000);

  it('shows a locked-out account and unlocks it, disables and re-enables an account, and resets an authenticator', async () => {
    const lockedOut = await w.staff('scheduler', 'locked');
    // Five wrong passwords over the real sign-in endpoint lock the account name.
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${w.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: lockedOut.username, password: `wrong password ${i}` }) });
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
    const another = await w.staff('admin', 'second-admin');
    const { page, problems } = await browser.newPage(w.url);
    await signInConsole(page, w.url, another);
    const row = userRow(page, lockedOut.username);
    await expect.poll(() => row.getByTestId('user-status').textContent()).toBe('ActiveLocked');

    await row.getByTestId('manage').click();
    const manage = page.getByTestId('manage-user');
    expect(await manage.textContent()).toMatch(/Locked for about \d+ more minutes/);
    await manage.getByTestId('unlock-user').click();
    await expect.poll(() => page.getByTestId('users-notice').textContent()).toBe(`${lockedOut.username} can try to sign in again.`);
    await expect.poll(() => row.getByTestId('user-status').textContent()).toBe('Active');
    expect((await api<{ lockouts: unknown[] }>('/admin/lockouts', another.token)).body.lockouts).toEqual([]);

    // Disabling is confirmed, ends the user's sessions at once, and can be undone.
    expect((await api('/auth/session', lockedOut.token)).status).toBe(200);
    await manage.getByTestId('disable-user').click();
    const confirm = page.getByTestId('confirm');
    await confirm.getByTestId('confirm-yes').click();
    await expect.poll(() => row.getByTestId('user-status').textContent()).toBe('Disabled');
    expect((await api('/auth/session', lockedOut.token)).status).toBe(401);
    expect((await w.db.query<{ status: string }>('SELECT status FROM users WHERE id = $1', [lockedOut.id]))[0]?.status).toBe('disabled');
    await manage.getByTestId('enable-user').click();
    await expect.poll(() => row.getByTestId('user-status').textContent()).toBe('Active');
    expect((await w.db.query<{ status: string }>('SELECT status FROM users WHERE id = $1', [lockedOut.id]))[0]?.status).toBe('active');

    // An admin's own account cannot be demoted or disabled from here.
    await userRow(page, another.username).getByTestId('manage').click();
    expect(await manage.getByTestId('disable-user').isDisabled()).toBe(true);
    expect(await manage.getByTestId('manage-role').isDisabled()).toBe(true);

    // Resetting the authenticator of an enrolled user (lost phone): they enroll again at their next sign-in.
    const enrolled = await w.staff('auditor', 'lost-phone');
    const sealed = w.identity.sealer.seal(Buffer.from(generateSecret(), 'utf8'), totpSecretAad(enrolled.id));
    await w.identity.users.startTotpEnrollment(enrolled.id, sealed);
    await w.identity.users.confirmTotpEnrollment(enrolled.id, 0, sealed);
    await page.getByTestId('reload-users').click();
    const enrolledRow = userRow(page, enrolled.username);
    await expect.poll(() => enrolledRow.getByTestId('user-mfa').textContent()).toBe('Enrolled');
    await enrolledRow.getByTestId('manage').click();
    await manage.getByTestId('reset-mfa').click();
    expect(await confirm.textContent()).toContain('set up a new authenticator at their next sign-in');
    await confirm.getByTestId('confirm-yes').click();
    await expect.poll(() => enrolledRow.getByTestId('user-mfa').textContent()).toBe('Not yet');
    expect((await w.db.query<{ actor_id: string }>(`SELECT actor_id FROM audit_log WHERE action = 'user.mfa.reset' AND resource_id = $1`, [enrolled.id])).map((r) => r.actor_id)).toEqual([another.id]);
    expect((await api('/auth/session', enrolled.token)).status).toBe(401);
    expect(unexpected(problems)).toEqual([]);
  }, 60_000);
});
