/**
 * The console's frame in a real browser: first sign-in goes through authenticator enrollment
 * (QR code and typed key), shows the recovery codes once, and lands in the role's console; a
 * wrong password says so without saying which part was wrong; a recovery code signs in once;
 * automatic logoff warns before the idle timeout, "Stay signed in" keeps the session, and doing
 * nothing ends on the signed-out screen with the gateway session really gone (audited).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { signInConsole, startConsoleWorld, type ConsoleWorld } from '../helpers/console.ts';

let w: ConsoleWorld;
let browser: TestBrowser;

beforeAll(async () => {
  // A 6 s idle timeout: the warning opens 3 s before (half the timeout, for timeouts under 2 min).
  w = await startConsoleWorld({ env: { SESSION_IDLE_TIMEOUT_SEC: '6', SESSION_SWEEP_INTERVAL_MS: '200' } });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await w?.close();
});

const idleExpiries = async (sessionId: string): Promise<number> => {
  const [r] = await w.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'session.expire.idle' AND resource_id = $1`, [sessionId]);
  return r?.n ?? 0;
};

describe('console sign-in, enrollment, recovery codes and automatic logoff (headless Chromium)', () => {
  it('enrolls an authenticator on first sign-in, shows recovery codes once, and a recovery code signs in again', { timeout: 60_000 }, async () => {
    const account = await w.staff('scheduler');
    const { page, problems } = await browser.newPage(w.url);
    page.setDefaultTimeout(10_000);
    await page.goto(`${w.url}/console/`);
    expect(await page.title()).toBe('Clinic console');
    await screenshot(page, 'console-sign-in');

    // A wrong password: generic message, the form stays.
    await page.getByTestId('username').fill(account.username);
    await page.getByTestId('password').fill('not the password at all');
    await page.getByTestId('sign-in').click();
    await expect.poll(() => page.getByTestId('error').textContent()).toBe('Username, password or code is not correct.');
    expect(await page.getByTestId('username').inputValue()).toBe(account.username);

    await page.getByTestId('password').fill(account.password);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('enroll-qr').waitFor();
    expect(await page.getByTestId('enroll-qr').getAttribute('src')).toMatch(/^data:image\/svg\+xml/);
    await screenshot(page, 'console-enroll');
    // A wrong code is refused and the enrollment can be confirmed after.
    await page.getByTestId('enroll-code').fill('000000');
    await page.getByTestId('enroll-confirm').click();
    await page.getByTestId('error').waitFor();
    await page.goto(`${w.url}/console/`);

    const codes = await signInConsole(page, w.url, account);
    expect(codes).toHaveLength(10);
    expect(await page.getByTestId('role').textContent()).toBe('Scheduler');
    expect(page.url()).not.toMatch(/scheduler-|[?]/);

    // The codes were shown during signInConsole; sign out, then use one to sign in.
    await page.getByTestId('sign-out').click();
    await page.getByTestId('signed-out').waitFor();
    expect(await page.getByTestId('signed-out').getAttribute('data-reason')).toBe('signed-out');
    await expect.poll(() => page.title()).toBe('Signed out — Clinic console');
    const gone = await page.evaluate<number>(`fetch('/auth/session').then((r) => r.status)`);
    expect(gone).toBe(401);

    // A recovery code signs in once; the same code again is refused.
    const code = codes?.[0] ?? '';
    for (const expected of ['in', 'refused'] as const) {
      await page.getByTestId('sign-in-again').or(page.getByTestId('sign-in')).first().click();
      if (expected === 'refused') await page.goto(`${w.url}/console/`);
      await page.getByTestId('username').fill(account.username);
      await page.getByTestId('password').fill(account.password);
      await page.getByTestId('sign-in').click();
      await page.getByTestId('toggle-recovery').click();
      await page.getByTestId('recovery-code').fill(code);
      await page.getByTestId('verify').click();
      if (expected === 'in') {
        await page.getByTestId('role').waitFor();
        await page.getByTestId('sign-out').click();
        await page.getByTestId('signed-out').waitFor();
      } else {
        await expect.poll(() => page.getByTestId('error').textContent()).toMatch(/not correct|already used/);
      }
    }
    // 4xx answers are expected here (wrong password, used code); aborted polls come from page.goto.
    expect(problems.filter((p) => !/status of 4\d\d|ERR_ABORTED/.test(p.text))).toEqual([]);
  });

  it('warns before the idle timeout, keeps the session on "Stay signed in", then signs out to a clean screen', { timeout: 60_000 }, async () => {
    const account = await w.staff('auditor');
    const { page } = await browser.newPage(w.url);
    page.setDefaultTimeout(10_000);
    await signInConsole(page, w.url, account);
    const sessionId = await page.evaluate<string>(`fetch('/auth/session').then((r) => r.json()).then((s) => s.id)`);
    const dialog = page.getByTestId('idle-warning');
    await dialog.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await dialog.getAttribute('role')).toBe('alertdialog');
    await screenshot(page, 'console-idle-warning');
    await page.getByTestId('stay-signed-in').click();
    await dialog.waitFor({ state: 'hidden' });
    // Still signed in, and the gateway agrees.
    expect(await page.evaluate<number>(`fetch('/auth/session').then((r) => r.status)`)).toBe(200);
    expect(await idleExpiries(sessionId)).toBe(0);

    // Now do nothing: the warning comes back, and then the signed-out screen.
    await dialog.waitFor({ state: 'visible', timeout: 10_000 });
    await page.getByTestId('signed-out').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('signed-out').getAttribute('data-reason')).toBe('idle');
    expect(await page.getByTestId('role').count()).toBe(0);
    await screenshot(page, 'console-signed-out');
    expect(await page.evaluate<number>(`fetch('/auth/session').then((r) => r.status)`)).toBe(401);
    await expect.poll(() => idleExpiries(sessionId)).toBe(1);
  });

  it('a session ended mid-form lands on the signed-out screen saying nothing was sent, and nothing was saved', { timeout: 60_000 }, async () => {
    const account = await w.staff('scheduler');
    const { page } = await browser.newPage(w.url);
    page.setDefaultTimeout(15_000);
    await signInConsole(page, w.url, account);
    await page.getByTestId('nav-templates').click();
    await page.getByTestId('new-template').click();
    await page.getByTestId('template-name').fill('half-done');
    await page.getByTestId('template-body').fill('This is {{clinic_name}}. {{portal_link}} {{opt_out}}');
    // An administrator revokes the session while the form is being filled in.
    const sessionId = await page.evaluate<string>(`fetch('/auth/session').then((r) => r.json()).then((s) => s.id)`);
    expect(await w.identity.sessions.end(sessionId, 'revoked', { actorType: 'user', actorId: 'admin-test' })).toBe(true);
    await page.getByTestId('template-save').click();
    await page.getByTestId('signed-out').waitFor();
    expect(await page.getByTestId('signed-out').getAttribute('data-reason')).toBe('expired');
    expect(await page.getByTestId('signed-out').textContent()).toContain('Anything you had not saved was not sent');
    const [saved] = await w.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reminder_templates WHERE name = 'half-done'`);
    expect(saved?.n).toBe(0);
  });
});
