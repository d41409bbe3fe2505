/**
 * Accessibility of every staff-console section and the sign-in screens, and of the patient's
 * visit page at phone width: axe-core (WCAG 2.1 A/AA) finds no serious or critical violation —
 * labels, names, contrast, ARIA use, landmarks, document language and title. Keyboard: the
 * sign-in form is completed with the keyboard alone, in a sensible focus order.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { a11yViolations, type A11yViolation } from '../helpers/a11y.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { freshCode, signInConsole, startConsoleWorld, type ConsoleWorld, type StaffRole } from '../helpers/console.ts';

let w: ConsoleWorld;
let browser: TestBrowser;

beforeAll(async () => {
  w = await startConsoleWorld();
  browser = await launchBrowser();
  // Something to show in the lists.
  await w.identity.patients.create({ givenName: 'Ada', familyName: 'Lovelace', phone: '+15555550199', timeZone: 'America/Chicago' }, { actorType: 'system', actorId: 'test' });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await w?.close();
});

/** Waits until no "Loading…" is on screen (the section's first data arrived), then checks. */
async function check(page: Page, where: string, found: Record<string, A11yViolation[]>): Promise<void> {
  await expect.poll(() => page.getByText('Loading…', { exact: true }).count()).toBe(0);
  const v = await a11yViolations(page);
  if (v.length > 0) found[where] = v;
}

describe('accessibility (axe-core, WCAG 2.1 A/AA, headless Chromium)', () => {
  it('every console section of every role, and the sign-in screens, have no serious or critical violation', { timeout: 120_000 }, async () => {
    const found: Record<string, A11yViolation[]> = {};
    const roles: StaffRole[] = ['admin', 'scheduler', 'provider', 'auditor', 'privacy_officer'];
    for (const role of roles) {
      const account = await w.staff(role);
      const { page } = await browser.newPage(w.url, { bypassCSP: true });
      page.setDefaultTimeout(15_000);
      if (role === 'admin') {
        await page.goto(`${w.url}/console/`);
        await page.getByTestId('username').waitFor();
        await check(page, 'sign-in', found);
      }
      await signInConsole(page, w.url, account);
      const sections: string[] = [];
      for (const link of await page.locator('[data-testid^="nav-"]').all()) sections.push((await link.getAttribute('data-testid')) ?? '');
      expect(sections.length).toBeGreaterThan(0);
      for (const nav of sections) {
        await page.getByTestId(nav).click();
        await check(page, `${role}/${nav.slice(4)}`, found);
      }
      if (role === 'privacy_officer') {
        await page.getByTestId('sign-out').click();
        await page.getByTestId('signed-out').waitFor();
        await check(page, 'signed-out', found);
      }
    }
    expect(found).toEqual({});
  });

  it('the enrollment screen and the code screen pass, and sign-in works from the keyboard alone', { timeout: 90_000 }, async () => {
    const found: Record<string, A11yViolation[]> = {};
    const account = await w.staff('scheduler');
    const { page } = await browser.newPage(w.url, { bypassCSP: true });
    page.setDefaultTimeout(15_000);
    await page.goto(`${w.url}/console/`);
    await page.getByTestId('username').waitFor();
    // Keyboard only: Tab into the first field, type, Tab to the next, Enter submits.
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | null>('document.activeElement?.getAttribute("data-testid") ?? null')).toBe('username');
    await page.keyboard.type(account.username);
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | null>('document.activeElement?.getAttribute("data-testid") ?? null')).toBe('password');
    await page.keyboard.type(account.password);
    await page.keyboard.press('Enter');
    await page.getByTestId('enroll-secret').waitFor();
    await check(page, 'enroll', found);
    account.totpSecret = ((await page.getByTestId('enroll-secret').textContent()) ?? '').trim();
    await page.getByTestId('enroll-code').focus();
    await page.keyboard.type(await freshCode(account));
    await page.keyboard.press('Enter');
    await page.getByTestId('recovery-codes').waitFor();
    await check(page, 'recovery-codes', found);
    await page.getByTestId('codes-saved').focus();
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | null>('document.activeElement?.getAttribute("data-testid") ?? null')).toBe('codes-done');
    await page.keyboard.press('Enter');
    await page.getByTestId('role').waitFor();
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in-again').click();
    await page.getByTestId('username').fill(account.username);
    await page.getByTestId('password').fill(account.password);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('code').waitFor();
    await check(page, 'code', found);
    expect(found).toEqual({});
  });

  it('the patient’s visit page at phone width has no serious or critical violation', async () => {
    const { page } = await browser.newPage(w.url, { viewport: { width: 375, height: 667 }, bypassCSP: true });
    await page.goto(`${w.url}/visit/#not-a-real-token`);
    await page.getByTestId('error').or(page.getByTestId('join')).first().waitFor();
    expect(await a11yViolations(page)).toEqual([]);
    // Nothing wider than the phone: no sideways scrolling.
    expect(await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    // The check itself can fail: an image without a text alternative is caught.
    await page.evaluate(`document.querySelector('main').append(Object.assign(document.createElement('img'), { src: '/nothing.png' }))`);
    expect((await a11yViolations(page)).map((v) => v.id)).toContain('image-alt');
  });
});
