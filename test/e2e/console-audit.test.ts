/**
 * The auditor and privacy-officer consoles in a real browser against a real gateway: a provider
 * is refused a patient outside their care team, breaks the glass over the API (password + TOTP)
 * and reads the record under the grant; an auditor finds those entries in the search (paging
 * through a busy history), sees the chain intact and the activity chart, and exports the search as
 * JSON Lines that match it entry for entry; a row edited directly in SQL (triggers disabled, as a
 * superuser could) turns the chain status red naming that seq; a privacy officer closes the
 * break-glass review with an outcome and the queue — on the page and over the API — is empty.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog, type AuditEntryInput } from '../../core/audit/index.ts';
import { tamperSql } from '../../core/audit/test-fixtures/attacker.ts';
import { totpSecretAad } from '../../core/crypto/index.ts';
import { generateSecret } from '../../gateway/auth/totp.ts';
import { totpCode } from '../../gateway/testing/identity-harness.ts';
import { launchBrowser, screenshot, type PageProblem, type TestBrowser } from '../helpers/browser.ts';
import { signInConsole, startConsoleWorld, type ConsoleWorld, type StaffAccount } from '../helpers/console.ts';

let w: ConsoleWorld;
let browser: TestBrowser;

beforeAll(async () => {
  w = await startConsoleWorld();
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await w?.close();
});

/** A refused request (the bad-input path) is logged by Chromium as a failed resource load: expected. */
const unexpected = (problems: readonly PageProblem[]): PageProblem[] => problems.filter((p) => !/status of 4\d\d/.test(p.text));

async function api<T>(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${w.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: (text === '' ? null : JSON.parse(text)) as T };
}

/** A provider with an enrolled authenticator (break-glass re-authenticates with password + TOTP). */
async function providerWithTotp(): Promise<StaffAccount & { totpSecret: string }> {
  const provider = await w.staff('provider');
  const secret = generateSecret();
  const sealed = w.identity.sealer.seal(Buffer.from(secret, 'utf8'), totpSecretAad(provider.id));
  await w.identity.users.startTotpEnrollment(provider.id, sealed);
  await w.identity.users.confirmTotpEnrollment(provider.id, 0, sealed);
  return Object.assign(provider, { totpSecret: secret });
}

describe('auditor and privacy-officer consoles (real gateway, headless Chromium)', () => {
  it('search, paging, export, chain status (intact, then broken by a SQL edit), activity chart, and the break-glass review', async () => {
    // ---- a provider's history, then emergency access over the API ----
    const provider = await providerWithTotp();
    const { id: patientId } = await w.identity.patients.create(
      { givenName: 'Ada', familyName: 'Lovelace', birthDate: '1990-04-01', phone: '+15555550123', email: 'ada@example.org', mrn: 'MRN-7', timeZone: 'UTC' },
      { actorType: 'system', actorId: 'test' },
    );
    // A busy history first, so the search needs several pages and the export several requests.
    const earlier: AuditEntryInput[] = Array.from({ length: 560 }, (_, i) => ({ actorType: 'user', actorId: provider.id, action: 'message.send', outcome: 'success', details: { recipients: 1 + (i % 3) } }));
    await createAuditLog(w.db).appendMany(earlier);

    expect((await api('GET', `/patients/${patientId}`, provider.token)).status).toBe(403);
    const reason = 'Unresponsive on arrival, no care-team provider on site';
    const granted = await api<{ token: string; grant: { id: string } }>('POST', '/break-glass', provider.token, { patientId, reason, password: provider.password, code: await totpCode(provider.totpSecret) });
    expect(granted.status).toBe(201);
    for (let i = 0; i < 2; i++) expect((await api('GET', `/patients/${patientId}`, granted.json.token)).status).toBe(200);
    const providerSeqs = (await w.db.query<{ seq: number }>('SELECT seq FROM audit_log WHERE actor_id = $1 ORDER BY seq', [provider.id])).map((r) => r.seq);
    const [requested] = await w.db.query<{ seq: number }>(`SELECT seq FROM audit_log WHERE action = 'break_glass.request' AND actor_id = $1`, [provider.id]);
    if (requested === undefined) throw new Error('the break-glass request was not audited');

    // ---- the auditor searches by the provider's id ----
    const auditor = await w.staff('auditor');
    const a = await browser.newPage(w.url);
    await signInConsole(a.page, w.url, auditor);
    await expect.poll(() => a.page.locator('main').getAttribute('data-section')).toBe('search');
    expect(await a.page.getByTestId('nav-break-glass').count()).toBe(0);
    await a.page.getByTestId('search-actor').fill(provider.id);
    await a.page.getByTestId('search-run').click();
    const results = a.page.getByTestId('search-results');
    await expect.poll(() => results.locator('caption').textContent()).toBe(`Entries 1–50 of ${providerSeqs.length}, newest first`);
    const rows = a.page.getByTestId('audit-row');
    const shownSeqs = async (): Promise<number[]> => (await a.page.getByTestId('cell-seq').allTextContents()).map(Number);
    expect(await shownSeqs()).toEqual([...providerSeqs].reverse().slice(0, 50));
    const top = await rows.allTextContents();
    expect(top.some((t) => t.includes('break_glass.request') && t.includes('Break-glass'))).toBe(true);
    expect(top.filter((t) => t.includes('patient.view') && t.includes(patientId) && t.includes('Break-glass'))).toHaveLength(2);
    expect(top.some((t) => t.includes('access.denied') && t.includes(patientId))).toBe(true);
    expect(top.join('\n')).not.toContain('Lovelace');
    await screenshot(a.page, 'console-audit-search');

    // Older pages continue where the first stopped; Newer comes back.
    await a.page.getByTestId('page-older').click();
    await expect.poll(() => results.locator('caption').textContent()).toBe(`Entries 51–100 of ${providerSeqs.length}, newest first`);
    expect(await shownSeqs()).toEqual([...providerSeqs].reverse().slice(50, 100));
    await a.page.getByTestId('page-newer').click();
    await expect.poll(shownSeqs).toEqual([...providerSeqs].reverse().slice(0, 50));

    // Narrowed to one action from the vocabulary.
    await a.page.getByTestId('search-action').selectOption('patient.view');
    await a.page.getByTestId('search-run').click();
    await expect.poll(() => results.locator('caption').textContent()).toBe('Entries 1–2 of 2, newest first');
    await a.page.getByTestId('search-action').selectOption('');
    await a.page.getByTestId('search-run').click();
    await expect.poll(() => results.locator('caption').textContent()).toBe(`Entries 1–50 of ${providerSeqs.length}, newest first`);

    // ---- export the search as JSON Lines: every line parses and the lines are the search ----
    const [download] = await Promise.all([a.page.waitForEvent('download'), a.page.getByTestId('export-run').click()]);
    expect(download.suggestedFilename()).toMatch(/^audit-\d{8}-\d{4}-to-\d{8}-\d{4}\.jsonl$/);
    const file = await download.path();
    const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
    const exported = lines.map((l) => JSON.parse(l) as { seq: number; actorId: string; action: string; hash: string; prevHash: string });
    expect(exported.map((e) => e.seq)).toEqual(providerSeqs);
    expect(exported.every((e) => e.actorId === provider.id && /^[0-9a-f]{64}$/.test(e.hash))).toBe(true);
    const stored = await w.db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_log WHERE actor_id = $1 ORDER BY seq', [provider.id]);
    expect(exported.map((e) => e.hash)).toEqual(stored.map((r) => r.hash));
    await expect.poll(() => a.page.getByTestId('export-done').textContent()).toContain(`Exported ${providerSeqs.length} entries`);
    expect(await a.page.getByTestId('export-progress').getAttribute('data-percent')).toBe('100');
    // The export paged through the search (500 per request) and each request was audited.
    const reads = await w.db.query<{ details: { view?: string; page?: string } }>(`SELECT details FROM audit_log WHERE action = 'audit.export' AND actor_id = $1`, [auditor.id]);
    expect(reads.filter((r) => r.details.view === 'search' && r.details.page === 'next').length).toBeGreaterThanOrEqual(2);

    // ---- bad input: a window that runs backwards is refused, the field is named, the input kept ----
    await a.page.getByTestId('search-window').selectOption('custom');
    await a.page.getByTestId('search-from').fill('2030-01-02T10:00');
    await a.page.getByTestId('search-to').fill('2030-01-01T10:00');
    await a.page.getByTestId('search-run').click();
    await expect.poll(() => a.page.getByTestId('error').textContent()).toMatch(/correct the marked fields/i);
    expect(await a.page.locator('.field-problem').allTextContents()).toContain('After from, within 366 days');
    expect(await a.page.getByTestId('search-from').inputValue()).toBe('2030-01-02T10:00');
    expect(await a.page.getByTestId('search-actor').inputValue()).toBe(provider.id);
    // Emptying a date is caught in the page, before any request.
    await a.page.getByTestId('search-from').fill('');
    await a.page.getByTestId('search-run').click();
    await expect.poll(() => a.page.locator('.field-problem').allTextContents()).toContain('Enter a start date and time.');

    // ---- chain status: intact ----
    await a.page.getByTestId('nav-chain').click();
    await expect.poll(() => a.page.getByTestId('chain-state').textContent(), { timeout: 15_000 }).toBe('Intact');
    expect(await a.page.getByTestId('chain-head').textContent()).toMatch(/^Checked \d+ entries up to seq \d+/);
    expect(await a.page.getByTestId('chain-checkpoint').textContent()).toMatch(/None yet/);

    // ---- activity chart: bars with counts, and the same counts as a table ----
    await a.page.getByTestId('nav-activity').click();
    await a.page.getByTestId('activity-chart').waitFor();
    const counts = async (): Promise<number[]> => {
      const bars = await a.page.locator('[data-testid="bar"]').all();
      return (await Promise.all(bars.map(async (b) => Number(await b.getAttribute('data-count'))))).filter((n) => n > 0);
    };
    await expect.poll(async () => (await counts()).length).toBeGreaterThan(0);
    const charted = (await counts()).reduce((s, n) => s + n, 0);
    expect(charted).toBeGreaterThanOrEqual(providerSeqs.length);
    expect(await a.page.locator('[data-testid="bar"] rect').count()).toBeGreaterThan(0);
    expect(await a.page.getByTestId('activity-summary').textContent()).toContain(`${charted} entries (all actions) per hour`);
    await a.page.getByTestId('activity-table').locator('summary').click();
    expect(await a.page.getByTestId('activity-row').count()).toBeGreaterThan(0);
    await screenshot(a.page, 'console-activity');
    // Filtered to one family: only access and break-glass entries (the denial, the request, ...).
    await a.page.getByTestId('activity-family').selectOption('access');
    await expect.poll(async () => (await counts()).reduce((s, n) => s + n, 0)).toBeLessThan(charted);
    expect(await a.page.locator('[data-testid="bar"] rect:not(.fam-access)').count()).toBe(0);

    // ---- someone edits the break-glass request's row directly in SQL: the chain turns red ----
    await tamperSql(w.db, `UPDATE audit_log SET outcome = 'failure' WHERE seq = ${requested.seq}`);
    await a.page.getByTestId('nav-chain').click();
    await a.page.getByTestId('verify-now').click();
    await expect.poll(() => a.page.getByTestId('chain-state').textContent(), { timeout: 15_000 }).toBe('Broken');
    expect(await a.page.getByTestId('chain-first-bad').textContent()).toBe(`seq ${requested.seq}`);
    expect(await a.page.locator('.chain-broken[role="alert"]').textContent()).toMatch(/changed after it was written/);
    await screenshot(a.page, 'console-chain');
    const verify = await api<{ ok: boolean; firstBad: { seq: number; reason: string } }>('GET', '/audit/verify', auditor.token);
    expect(verify.json).toMatchObject({ ok: false, firstBad: { seq: requested.seq, reason: 'hash_mismatch' } });
    expect(unexpected(a.problems)).toEqual([]);

    // ---- the privacy officer closes the review ----
    const officer = await w.staff('privacy_officer');
    const o = await browser.newPage(w.url);
    await signInConsole(o.page, w.url, officer);
    await expect.poll(() => o.page.locator('main').getAttribute('data-section')).toBe('break-glass');
    const grantRow = o.page.getByTestId('grant-row');
    await expect.poll(() => grantRow.count()).toBe(1);
    expect(await grantRow.getByTestId('grant-patient').textContent()).toBe(patientId);
    expect(await grantRow.getByTestId('grant-provider').textContent()).toBe(provider.id);
    expect(await grantRow.getByTestId('grant-reason').textContent()).toBe(reason);
    expect(await grantRow.getByTestId('grant-actions').textContent()).toBe('2');
    await screenshot(o.page, 'console-break-glass');

    await grantRow.getByTestId('grant-review').click();
    const dialog = o.page.getByTestId('review-dialog');
    await dialog.getByTestId('review-note').fill('Confirmed with the ED attending');
    // No outcome chosen: the dialog says so and keeps the note.
    await dialog.getByTestId('review-submit').click();
    await expect.poll(() => dialog.locator('.field-problem').textContent()).toBe('Choose an outcome.');
    expect(await dialog.getByTestId('review-note').inputValue()).toBe('Confirmed with the ED attending');
    await dialog.getByTestId('outcome-justified').check();
    await dialog.getByTestId('review-submit').click();
    await expect.poll(() => o.page.getByTestId('review-notice').textContent()).toBe('Review closed as Justified.');
    await expect.poll(() => grantRow.count()).toBe(0);
    expect(await o.page.getByTestId('queue').locator('caption').textContent()).toBe('No open reviews');
    await screenshot(o.page, 'console-break-glass-closed');

    const open = await api<{ grants: unknown[] }>('GET', '/break-glass/reviews?status=open', officer.token);
    expect(open).toEqual({ status: 200, json: { grants: [] } });
    const reviewed = await api<{ grants: { id: string; outcome: string }[] }>('GET', '/break-glass/reviews?status=reviewed', officer.token);
    expect(reviewed.json.grants).toEqual([expect.objectContaining({ id: granted.json.grant.id, outcome: 'justified' })]);
    const [closed] = await w.db.query<{ actor_id: string; details: unknown }>(`SELECT actor_id, details FROM audit_log WHERE action = 'break_glass.review' AND resource_id = $1`, [granted.json.grant.id]);
    expect(closed).toEqual({ actor_id: officer.id, details: { outcome: 'justified', withNote: true } });
    expect(unexpected(o.problems)).toEqual([]);
  }, 60_000);
});
