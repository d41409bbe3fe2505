/**
 * The messenger local app end to end: a real gateway (every feature, PGlite + the test Redis),
 * two `telehealth messenger` apps run in-process — a patient signed in from the command line
 * with an enrollment code, a provider signed in on the page with password and TOTP — each with
 * its own encrypted store, each page in its own headless Chromium context. They exchange
 * messages both ways (sent → delivered → read), an attachment travels and opens on the other
 * side, both sides show the same safety number, a changed identity key raises a banner that must
 * be acknowledged, and a restarted app shows its history. Neither the database nor Redis (keys
 * and pub/sub) ever holds a message, the attachment or its file name; the store on disk neither.
 * Bad paths: no launch cookie → 401, a foreign Host → refused, a too-large file → a clear error.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createMessengerCommand } from '../../bin/commands/messenger.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { testConfig } from '../../gateway/testing/harness.ts';
import { totpCode } from '../../gateway/testing/identity-harness.ts';
import { STORE_FILE } from '../../sdk/index.ts';
import type { MessengerApp } from '../../sdk/messenger-app/index.ts';
import { buildWebClient, launchBrowser, screenshot, type TestBrowser, type TestPage } from '../helpers/browser.ts';
import { openTestDb } from '../helpers/databases.ts';
import { dumpRedis, dumpTables, leaks, newDevice, recordPublished, seedPeople, startTestGateway, storeFactory } from '../helpers/messaging.ts';

const TEST_TIMEOUT_MS = 180_000;
const WAIT = { timeout: 20_000 } as const;
const PASSPHRASE_ENV = 'TELEHEALTH_MESSENGER_PASSPHRASE';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

interface Running {
  readonly app: MessengerApp;
  readonly launchUrl: string;
  stop(): Promise<number>;
}

/** `telehealth messenger <argv>` in this process; resolves once it serves, with the link it printed. */
async function startMessenger(argv: string[], passphrase: string, webDistDir: string): Promise<Running> {
  const stop = new AbortController();
  const out = capture();
  const err = capture();
  let started: (app: MessengerApp) => void = () => undefined;
  const ready = new Promise<MessengerApp>((resolve) => (started = resolve));
  const cmd = createMessengerCommand({ stdin: Readable.from([]), stopSignal: stop.signal, onStarted: (a) => started(a), webDistDir });
  const running = cmd.run({ argv, stdout: out.stream, stderr: err.stream, env: { [PASSPHRASE_ENV]: passphrase }, interactive: false });
  const app = await Promise.race([ready, running.then((code) => Promise.reject(new Error(`messenger exited ${code} before serving: ${err.text()}`)))]);
  const link = /Open this link in your browser \(it works once\): (\S+)/.exec(out.text())?.[1];
  if (link === undefined) throw new Error(`no launch link printed: ${out.text()}`);
  let stopped: Promise<number> | undefined;
  const result = {
    app,
    launchUrl: link,
    stop: () => {
      stopped ??= (stop.abort(), running);
      return stopped;
    },
  };
  cleanups.push(() => result.stop());
  return result;
}

async function openPage(browser: TestBrowser, running: Running, viewport?: { width: number; height: number }): Promise<TestPage> {
  const p = await browser.newPage(running.app.origin, viewport === undefined ? {} : { viewport });
  await p.page.goto(running.launchUrl);
  // The secret is traded for a cookie and gone from the address bar.
  expect(p.page.url()).toBe(`${running.app.origin}/`);
  expect(await p.page.title()).toBe('Messenger');
  return p;
}

const messages = (page: Page) => page.getByTestId('messages').getByTestId('message');
const messageWith = (page: Page, text: string) => messages(page).filter({ hasText: text });

async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('compose-text').fill(text);
  await page.getByTestId('send').click();
  await messageWith(page, text).waitFor(WAIT);
}

/** Console errors and failed requests a page should not have (aborted event streams on close are fine). */
function unexpected(p: TestPage): string[] {
  return p.problems.filter((x) => !(x.kind === 'requestfailed' && /ERR_ABORTED/.test(x.text)) && !/status of 4\d\d/.test(x.text)).map((x) => `${x.kind}: ${x.text} (${x.url})`);
}

describe('telehealth messenger (two local apps, real gateway, headless Chromium)', () => {
  it('patient and provider chat through the gateway with receipts, an attachment, safety numbers and an identity-change banner; no plaintext reaches the gateway', { timeout: TEST_TIMEOUT_MS }, async () => {
    const dist = await buildWebClient();
    const t = await openTestDb('pglite');
    cleanups.push(() => t.dispose());
    const redis: Redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const gateway = await startTestGateway({ db: t.db, redis, config: testConfig(), keyPrefix: `test-${randomUUID()}:` });
    cleanups.push(() => gateway.close());
    const { provider, patient } = await seedPeople(gateway.features.identity, t.db);
    const published = await recordPublished(redis);
    cleanups.push(() => published.stop());
    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const stores = storeFactory();
    cleanups.push(() => stores.cleanup());
    const home = await mkdtemp(path.join(tmpdir(), 'th-messenger-e2e-'));
    cleanups.push(() => rm(home, { recursive: true, force: true }));

    const tag = randomBytes(6).toString('hex');
    const text = (n: string) => `Zq-${tag}-${n} blood pressure 150/95 meds adjusted`;
    const fileName = `lab-results-${tag}.txt`;
    const fileBody = `Attachment-${tag}: potassium 3.1 mmol/L, recheck in 2 weeks\n`;

    // Patient: signed in from the command line with the clinic's enrollment code; small attachment limit.
    const { code } = await gateway.features.identity.enrollment.createCode(patient.patientId, { actorType: 'user', actorId: provider.id });
    const patientArgs = ['--url', gateway.url, '--state', path.join(home, 'patient'), '--label', 'patient-laptop', '--max-attachment-mb', '0.05'];
    const patientPass = 'patient passphrase for the e2e test';
    let patientApp = await startMessenger([...patientArgs, '--enrollment-code', code], patientPass, dist);
    // Provider: only the gateway on the command line; signs in on the page.
    const providerApp = await startMessenger(['--url', gateway.url, '--state', path.join(home, 'provider'), '--label', 'provider-desk'], 'provider passphrase for the e2e test', dist);

    let pat = await openPage(browser, patientApp);
    const pro = await openPage(browser, providerApp);
    await pat.page.locator('body[data-state="signed-in"]').waitFor(WAIT);
    await pro.page.locator('body[data-state="signed-out"]').waitFor(WAIT);
    await pro.page.getByTestId('username').fill(provider.username);
    await pro.page.getByTestId('password').fill(provider.password);
    await pro.page.getByTestId('totp').fill(await totpCode(provider.totpSecret));
    await pro.page.getByTestId('sign-in').click();
    await pro.page.locator('body[data-state="signed-in"]').waitFor(WAIT);
    await expect.poll(() => pro.page.getByTestId('connection').textContent(), WAIT).toBe('Connected');
    expect(await pro.page.getByTestId('my-user-id').textContent()).toBe(provider.id);

    // 1. Provider starts the conversation by picking the patient's name from the contacts the
    //    gateway lists (the by-id form stays as the fallback), and writes.
    expect(await pro.page.getByTestId('peer-id').isVisible()).toBe(true);
    const contact = pro.page.locator(`[data-testid="contact"][data-peer="${patient.userId}"]`);
    await contact.waitFor(WAIT);
    expect(await contact.textContent()).toContain('Ada Lovelace');
    await contact.click();
    await pro.page.getByTestId('compose-text').waitFor(WAIT);
    await expect.poll(() => pro.page.locator(`[data-testid="conversation"][data-peer="${patient.userId}"]`).textContent(), WAIT).toContain('Ada Lovelace');
    expect(await contact.count()).toBe(0);
    await send(pro.page, text('p1'));
    // Delivered as soon as the patient's app has it (the patient has not opened the conversation).
    await expect.poll(() => messageWith(pro.page, text('p1')).getAttribute('data-status'), WAIT).toBe('delivered');
    await expect.poll(() => pat.page.getByTestId('unread').textContent(), WAIT).toBe('1 unread');

    // 2. The patient opens it: shown means read, and the provider sees the read receipt.
    await pat.page.locator(`[data-testid="conversation"][data-peer="${provider.id}"]`).click();
    await messageWith(pat.page, text('p1')).waitFor(WAIT);
    await expect.poll(() => messageWith(pro.page, text('p1')).getAttribute('data-status'), WAIT).toBe('read');
    await expect.poll(() => pat.page.getByTestId('unread').count(), WAIT).toBe(0);

    // 3. Patient → provider (the provider's conversation is open: delivered, then read).
    await send(pat.page, text('q1'));
    await messageWith(pro.page, text('q1')).waitFor(WAIT);
    await expect.poll(() => messageWith(pat.page, text('q1')).getAttribute('data-status'), WAIT).toBe('read');

    // 4. An attachment: encrypted by the provider's app, opened (decrypted) by the patient's.
    await pro.page.getByTestId('compose-text').fill(text('p2'));
    await pro.page.getByTestId('compose-file').setInputFiles({ name: fileName, mimeType: 'text/plain', buffer: Buffer.from(fileBody) });
    await pro.page.getByTestId('send').click();
    const withFile = messageWith(pat.page, text('p2'));
    await withFile.getByTestId('attachment').waitFor(WAIT);
    expect(await withFile.getByTestId('attachment').textContent()).toContain(fileName);
    const [download] = await Promise.all([pat.page.waitForEvent('download', WAIT), withFile.getByTestId('attachment').click()]);
    expect(download.suggestedFilename()).toBe(fileName);
    expect(await readFile(await download.path(), 'utf8')).toBe(fileBody);
    await expect.poll(() => messageWith(pro.page, text('p2')).getAttribute('data-status'), WAIT).toBe('read');
    await screenshot(pro.page, 'messenger-conversation');

    // 5. Safety numbers: both sides show the same 60 digits; the patient marks the provider verified.
    const digitsOf = async (page: Page): Promise<string> => {
      await page.getByTestId('open-safety-number').click();
      const digits = page.getByTestId('safety-number').getByTestId('safety-digits').first();
      await digits.waitFor(WAIT);
      await page.getByTestId('safety-qr').first().waitFor(WAIT);
      return ((await digits.textContent()) ?? '').replace(/\s/g, '');
    };
    const patientDigits = await digitsOf(pat.page);
    const providerDigits = await digitsOf(pro.page);
    expect(patientDigits).toMatch(/^\d{60}$/);
    expect(providerDigits).toBe(patientDigits);
    await pat.page.getByTestId('mark-verified').click();
    await expect.poll(() => pat.page.getByTestId('safety-device').getAttribute('data-verified'), WAIT).toBe('true');
    await screenshot(pat.page, 'messenger-safety-number');
    await pat.page.getByTestId('close-safety-number').click();
    await pro.page.getByTestId('close-safety-number').click();

    // 6. Bad paths: no launch cookie, a foreign Host (DNS rebinding), a file over the limit.
    const bare = await fetch(`${patientApp.app.origin}/api/session`);
    expect(bare.status).toBe(401);
    expect((await fetch(`${patientApp.app.origin}/`)).status).toBe(401);
    const port = new URL(patientApp.app.origin).port;
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/api/session', headers: { host: `evil.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebound).toBe(403);
    await pat.page.getByTestId('compose-file').setInputFiles({ name: 'scan.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(60_000, 7) });
    await expect.poll(() => pat.page.getByTestId('compose-error').textContent(), WAIT).toMatch(/is 60 KB; files may be at most 50 KB\. Choose a smaller file/);
    // The app enforces the limit itself too (a page that skipped the check).
    const direct = await pat.page.evaluate(async () => {
      const s = (await (await fetch('/api/session')).json()) as { csrfToken: string };
      const res = await fetch('/api/uploads', { method: 'POST', headers: { 'x-messenger-token': s.csrfToken, 'content-type': 'application/octet-stream', 'x-file-name': 'scan.bin' }, body: new Uint8Array(60_000) });
      return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
    });
    expect(direct.status).toBe(413);
    expect(direct.body.error).toMatchObject({ code: 'attachment_too_large', message: expect.stringMatching(/at most 50 KB/) as string });

    // 7. The provider's device is replaced (removed, and a new one registered with a new identity
    //    key under the same device id): the patient's page warns until acknowledged.
    const removed = await fetch(`${gateway.url}/v1/devices/1`, { method: 'DELETE', headers: { authorization: `Bearer ${provider.token}` } });
    expect(removed.status).toBe(204);
    await expect.poll(() => pro.page.getByRole('alert').filter({ hasText: 'This device was removed' }).count(), WAIT).toBe(1);
    const replacement = await newDevice(stores, gateway.url, provider.token, provider.id, 'provider-new-phone');
    expect(replacement.deviceId).toBe(1);
    cleanups.push(() => replacement.messenger.close());
    await replacement.messenger.start();
    await replacement.messenger.sendText(patient.userId, text('p3'));
    await messageWith(pat.page, text('p3')).waitFor(WAIT);
    const banner = pat.page.getByTestId('identity-warning');
    await banner.waitFor(WAIT);
    expect(await banner.textContent()).toMatch(/safety number with Patient|safety number with User/);
    expect(await banner.textContent()).toMatch(/You had verified the old number/);
    await pat.page.getByTestId('acknowledge-identity').click();
    await expect.poll(() => banner.count(), WAIT).toBe(0);
    await send(pat.page, text('q2'));
    await replacement.recorder.until('the reply after the identity change', () => replacement.recorder.texts().includes(text('q2')));

    // 8. A restarted app shows its history from the encrypted store (session kept there too) —
    //    here at phone width, where the conversation replaces the list.
    expect(unexpected(pat)).toEqual([]);
    expect(unexpected(pro)).toEqual([]);
    await pat.context.close();
    expect(await patientApp.stop()).toBe(0);
    const onDisk = await readFile(path.join(home, 'patient', STORE_FILE), 'utf8');
    patientApp = await startMessenger(patientArgs, patientPass, dist);
    pat = await openPage(browser, patientApp, { width: 375, height: 667 });
    await pat.page.locator('body[data-state="signed-in"]').waitFor(WAIT);
    await pat.page.locator(`[data-testid="conversation"][data-peer="${provider.id}"]`).click();
    for (const n of ['p1', 'q1', 'p2', 'p3', 'q2']) await messageWith(pat.page, text(n)).waitFor(WAIT);
    expect(await messageWith(pat.page, text('p2')).getByTestId('attachment').textContent()).toContain(fileName);
    expect(await pat.page.getByTestId('new-conversation').isVisible()).toBe(false);
    await pat.page.getByRole('button', { name: '← Conversations' }).click();
    await pat.page.getByTestId('new-conversation').waitFor(WAIT);

    // 9. Nothing in the gateway's database, Redis keys or pub/sub — nor the store file — is plaintext.
    const dump = [await dumpTables(t.db), await dumpRedis(redis), published.text()].join('\n');
    for (const secret of [...['p1', 'q1', 'p2', 'p3', 'q2'].map(text), fileBody, fileName, tag]) {
      expect(leaks(dump, secret), `gateway holds "${secret.slice(0, 20)}…"`).toEqual([]);
      expect(leaks(onDisk, secret), `the local store file holds "${secret.slice(0, 20)}…"`).toEqual([]);
    }
    expect(unexpected(pat)).toEqual([]);
  });
});
