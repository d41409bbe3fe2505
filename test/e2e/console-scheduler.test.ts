/**
 * The scheduler's console in headless Chromium against a real gateway (PGlite, the test Redis)
 * with a real reminder worker (BullMQ, the twilio library → a local Twilio API): a scheduler
 * signs in, books an appointment, records consent (a bad evidence reference is refused in the
 * form), edits a template and sees the PHI words flagged as they type (saving is refused until
 * they are gone), launches a campaign and watches its progress bar reach 100% over the WebSocket,
 * reads the report (one sent, one skipped for no consent) and downloads it as CSV without names or
 * numbers. Then the socket drops: the page says so, a second campaign still reaches 100% by
 * polling (a revoked consent and a refused number as their own reasons), a dead letter is
 * replayed, and the socket comes back. Last, a campaign is paused, resumed and cancelled while its
 * reminders wait, and none goes out.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type PageProblem, type TestBrowser } from '../helpers/browser.ts';
import { signInConsole, startConsoleWorld, type ConsoleWorld, type StaffAccount } from '../helpers/console.ts';
import { TwilioErrors } from '../helpers/fake-twilio.ts';
import { startReminderWorker, type ReminderWorker } from '../helpers/reminder-world.ts';

const HOUR = 3_600_000;
const PHONES = { ada: '+15555550111', grace: '+15555550122', carol: '+15555550133' } as const;
const GOOD_TEMPLATE = 'This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}';

let world: ConsoleWorld;
let reminders: ReminderWorker;
let browser: TestBrowser;
let scheduler: StaffAccount;
let provider: StaffAccount;
const patients = { ada: '', grace: '', carol: '' };
const appointments = { grace: '', carol: '' };

async function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${world.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${scheduler.token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** `YYYY-MM-DDTHH:mm` in local time (the browser runs in the same zone as this process). */
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** 4xx answers the page expects (a refused template save) are logged by Chromium as console errors. */
const unexpected = (problems: readonly PageProblem[]): PageProblem[] => problems.filter((p) => !/status of 4\d\d/.test(p.text));

beforeAll(async () => {
  const bullPrefix = `{console-sched-${randomUUID().slice(0, 8)}}`;
  world = await startConsoleWorld({ bullPrefix });
  reminders = await startReminderWorker(world, { bullPrefix });
  reminders.fake.failFor(PHONES.carol, TwilioErrors.invalidTo);
  browser = await launchBrowser();
  scheduler = await world.staff('scheduler');
  provider = await world.staff('provider');
  const ctx = { actorType: 'user', actorId: scheduler.id } as const;
  const people = [
    ['ada', 'Ada', 'Lovelace'],
    ['grace', 'Grace', 'Hopper'],
    ['carol', 'Carol', 'Shaw'],
  ] as const;
  for (const [key, givenName, familyName] of people) {
    patients[key] = (await world.identity.patients.create({ givenName, familyName, phone: PHONES[key], timeZone: 'America/Chicago' }, ctx)).id;
  }
  // Ada and Carol agreed to SMS reminders; Grace to nothing.
  for (const key of ['ada', 'carol'] as const) {
    expect((await api(`/patients/${patients[key]}/consent`, { body: { channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: `form-${key}` } })).status).toBe(201);
  }
  const book = async (patientId: string, inMs: number) => (await world.identity.appointments.create({ patientId, providerId: provider.id, startsAt: new Date(Date.now() + inMs), endsAt: new Date(Date.now() + inMs + HOUR / 2) }, ctx)).id;
  appointments.grace = await book(patients.grace, 27 * HOUR);
  // Outside the two-day window the campaign form proposes: only reached by listing it.
  appointments.carol = await book(patients.carol, 60 * HOUR);
  expect((await api('/templates', { body: { name: 'visit-reminder', channel: 'sms', body: GOOD_TEMPLATE } })).status).toBe(201);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await reminders?.close();
  await world?.close();
});

/** Every /ws connection of the page goes through here: watched, and droppable on demand. */
function socketControl(page: Page) {
  const state = { blocked: false, current: undefined as WebSocketRoute | undefined, fromServer: [] as string[] };
  const ready = page.routeWebSocket(/\/ws$/, (ws) => {
    if (state.blocked) {
      void ws.close({ code: 4000, reason: 'network down (test)' });
      return;
    }
    state.current = ws;
    const server = ws.connectToServer();
    server.onMessage((m) => {
      if (typeof m === 'string') state.fromServer.push(m);
      ws.send(m);
    });
    ws.onMessage((m) => server.send(m));
    ws.onClose((code, reason) => server.close({ code, reason }));
    server.onClose((code, reason) => ws.close({ code, reason }));
  });
  return {
    ready,
    state,
    async drop(): Promise<void> {
      state.blocked = true;
      await state.current?.close({ code: 4000, reason: 'network down (test)' });
    },
    restore(): void {
      state.blocked = false;
    },
  };
}

describe('scheduler console in the browser (real gateway, real reminder worker)', () => {
  it('books, records consent, edits a template with live PHI feedback, launches campaigns with live progress, reports, exports and replays', async () => {
    const { page, problems } = await browser.newPage(world.url);
    const socket = socketControl(page);
    await socket.ready;
    await signInConsole(page, world.url, scheduler);
    await expect.poll(() => page.title()).toBe('Appointments — Clinic console');

    // ---- Appointments: a refused booking keeps the form, then a booking for Ada tomorrow.
    await page.getByTestId('nav-appointments').click();
    await page.getByTestId('book').click();
    await expect.poll(() => page.getByTestId('booking-form').textContent()).toContain('Choose the patient.');
    await page.getByTestId('book-patient').selectOption({ label: 'Ada Lovelace' });
    await page.getByTestId('book-start').fill(localInput(new Date(Date.now() + 26 * HOUR)));
    await page.getByTestId('book').click();
    await expect.poll(() => page.getByTestId('appointments-notice').textContent()).toContain('Booked for Ada Lovelace');
    await expect.poll(() => page.getByTestId('appointments-table').textContent()).toContain('Ada Lovelace');
    const [booked] = await world.db.query<{ id: string; provider_id: string; status: string }>('SELECT id, provider_id, status FROM appointments WHERE patient_id = $1', [patients.ada]);
    expect(booked).toMatchObject({ provider_id: provider.id, status: 'scheduled' });
    const adaAppointment = booked?.id ?? '';
    await screenshot(page, 'console-appointments');

    // ---- Consent: what is on file per channel and purpose; a change with a bad reference is refused in the form.
    await page.getByTestId('nav-consent').click();
    const row = (name: string) => page.getByTestId('consent-row').filter({ hasText: name });
    await expect.poll(() => row('Ada Lovelace').getByTestId('consent-sms-appointment_reminders').textContent()).toBe('Granted');
    await expect.poll(() => row('Grace Hopper').getByTestId('consent-sms-appointment_reminders').textContent()).toBe('No record');
    await row('Grace Hopper').getByTestId('record-consent').click();
    const dialog = page.getByTestId('consent-dialog');
    await dialog.getByTestId('consent-channel').selectOption('email');
    await dialog.getByTestId('consent-evidence').fill('Grace Hopper');
    await dialog.getByTestId('consent-save').click();
    await expect.poll(() => dialog.textContent()).toContain('Use the form or document id only');
    expect(((await api(`/patients/${patients.grace}/consent`)).body['current'] as unknown[]).length).toBe(0);
    await dialog.getByTestId('consent-evidence').fill('form-2031-77');
    await dialog.getByTestId('consent-save').click();
    await expect.poll(() => page.getByTestId('consent-notice').textContent()).toContain('Recorded for Grace Hopper');
    await expect.poll(() => row('Grace Hopper').getByTestId('consent-email-appointment_reminders').textContent()).toBe('Granted');
    expect((await api(`/patients/${patients.grace}/consent`)).body['current']).toEqual([expect.objectContaining({ channel: 'email', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: 'form-2031-77' })]);
    await screenshot(page, 'console-consent');

    // ---- Templates: PHI typed into a saved template is flagged live; saving is refused until it is gone.
    await page.getByTestId('nav-templates').click();
    await page.getByTestId('edit-template-visit-reminder').click();
    const body = page.getByTestId('template-body');
    await expect.poll(() => body.inputValue()).toBe(GOOD_TEMPLATE);
    await body.fill('Hi Ada, this is {{clinic_name}}. Your visit is {{time_word}} at 10:30. {{portal_link}} {{opt_out}}');
    await expect.poll(() => page.getByTestId('lint-status').getAttribute('data-state'), { timeout: 5_000 }).toBe('problems');
    const flagged = await page.getByTestId('flagged-words').allTextContents();
    expect(flagged).toEqual(expect.arrayContaining(['Hi Ada', '10:30']));
    expect(await page.getByTestId('lint-finding').first().textContent()).toContain('A person’s name');
    expect(await page.getByTestId('lint-highlight').locator('mark').allTextContents()).toEqual(['Hi Ada', '10:30']);
    await screenshot(page, 'console-templates');
    await page.getByTestId('template-save').click();
    await expect.poll(() => page.getByTestId('template-editor').getByTestId('error').textContent()).toContain('was not saved');
    expect(await page.getByTestId('save-refusal').textContent()).toContain('person_name');
    expect(((await api('/templates')).body['templates'] as { latestVersion: number }[])[0]?.latestVersion).toBe(1);
    // The text stays as typed; fixing it clears the findings and previews the message.
    expect(await body.inputValue()).toContain('Hi Ada');
    await body.fill('Hello from {{clinic_name}}. You have a visit {{time_word}}. Sign in: {{portal_link}} {{opt_out}}');
    await expect.poll(() => page.getByTestId('lint-status').getAttribute('data-state'), { timeout: 5_000 }).toBe('ok');
    expect(await page.getByTestId('preview-text').textContent()).toMatch(/^Hello from Riverside Health\. You have a visit tomorrow\. Sign in: http:\/\/127\.0\.0\.1:\d+ Reply STOP to opt out\.$/);
    await page.getByTestId('template-save').click();
    await expect.poll(() => page.getByTestId('template-saved').textContent()).toContain('version 2');
    expect(((await api('/templates')).body['templates'] as { latestVersion: number }[])[0]?.latestVersion).toBe(2);

    // ---- Campaign over the next two days (Ada consented, Grace did not), watched live over the socket.
    await page.getByTestId('nav-campaigns').click();
    await expect.poll(() => page.getByTestId('feed-status').getAttribute('data-state'), { timeout: 10_000 }).toBe('live');
    await expect.poll(() => page.getByTestId('campaign-version').inputValue()).toBe('2');
    // Held at 0% first, so the move to 100% is seen happening (the socket is live: no polling).
    await reminders.pause();
    await page.getByTestId('campaign-launch').click();
    const detail = page.getByTestId('campaign-detail');
    await detail.waitFor();
    const first = (await detail.getAttribute('data-campaign')) ?? '';
    await expect.poll(() => detail.getByTestId('progress-summary').textContent()).toContain('2 still to go');
    expect(await detail.getByTestId('campaign-progress').getAttribute('data-percent')).toBe('0');
    reminders.resume();
    await expect.poll(() => detail.getByTestId('campaign-progress').getAttribute('data-percent'), { timeout: 30_000 }).toBe('100');
    expect(await page.getByTestId('feed-status').getAttribute('data-state')).toBe('live');
    await expect.poll(() => detail.getByTestId('state-sent').textContent()).toBe('1');
    expect(await detail.getByTestId('state-skipped').textContent()).toBe('1');
    expect(await detail.getByTestId('reason-no_consent').textContent()).toBe('1');
    expect(await detail.getByTestId('reason-name-no_consent').textContent()).toContain('No consent on file');
    // The 100% came over the WebSocket, and the server agrees.
    const frames = socket.state.fromServer.map((f) => JSON.parse(f) as { type: string; campaignId?: string; states?: Record<string, number> });
    expect(frames.some((f) => f.type === 'campaign.progress' && f.campaignId === first && f.states?.['queued'] === 0 && f.states['sending'] === 0)).toBe(true);
    expect((await api(`/campaigns/${first}`)).body).toMatchObject({ total: 2, states: { sent: 1, skipped: 1, queued: 0 }, reasons: { no_consent: 1 } });
    expect(reminders.fake.messages.map((m) => m.to)).toEqual([PHONES.ada]);
    await screenshot(page, 'console-campaigns');

    // ---- The report as CSV: both deliveries, ids and reasons only.
    const [download] = await Promise.all([page.waitForEvent('download'), detail.getByTestId('export-csv').click()]);
    const csv = await readFile(await download.path(), 'utf8');
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('delivery_id,appointment_id,channel,state,state_description,reason,reason_description,attempts,updated_at');
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.includes(adaAppointment))).toMatch(/,sms,sent,Sent,,,/);
    expect(lines.find((l) => l.includes(appointments.grace))).toMatch(/,sms,skipped,Skipped,no_consent,No consent on file/);
    expect(csv).not.toMatch(/Ada|Lovelace|Grace|Hopper|5555550111|5555550122/);
    expect(download.suggestedFilename()).toBe(`campaign-${first}-deliveries.csv`);

    // ---- The socket drops: the page says so, and a second campaign still reaches 100% by polling.
    expect((await api(`/patients/${patients.ada}/consent`, { body: { channel: 'sms', purpose: 'appointment_reminders', state: 'revoked', method: 'verbal' } })).status).toBe(201);
    await socket.drop();
    await expect.poll(() => page.getByTestId('feed-status').getAttribute('data-state'), { timeout: 10_000 }).toBe('reconnecting');
    expect(await page.getByTestId('feed-status').textContent()).toContain('Connection lost, reconnecting');
    await page.getByTestId('kind-appointments').check();
    await page.getByTestId('campaign-ids').fill(`${adaAppointment}\nnot-an-id`);
    await page.getByTestId('campaign-launch').click();
    await expect.poll(() => page.getByTestId('campaign-form').textContent()).toContain('One entry is not an appointment id');
    await page.getByTestId('campaign-ids').fill(`${adaAppointment}\n${appointments.carol}`);
    // The worker holds its jobs until the page shows the campaign waiting: every later change must come by polling.
    await reminders.pause();
    await page.getByTestId('campaign-launch').click();
    await expect.poll(() => detail.getAttribute('data-campaign')).not.toBe(first);
    const second = (await detail.getAttribute('data-campaign')) ?? '';
    await expect.poll(() => detail.getByTestId('progress-summary').textContent()).toContain('2 still to go');
    expect(await detail.getByTestId('campaign-progress').getAttribute('data-percent')).toBe('0');
    reminders.resume();
    await expect.poll(() => detail.getByTestId('campaign-progress').getAttribute('data-percent'), { timeout: 30_000 }).toBe('100');
    expect(await page.getByTestId('feed-status').getAttribute('data-state')).toBe('reconnecting');
    await expect.poll(() => detail.getByTestId('reason-consent_revoked').textContent()).toBe('1');
    expect(await detail.getByTestId('reason-name-consent_revoked').textContent()).toContain('Consent revoked');
    expect(await detail.getByTestId('reason-provider_refused').textContent()).toBe('1');
    expect(socket.state.fromServer.some((f) => f.includes(second))).toBe(false);

    // ---- The refused text is a dead letter; replaying it is audited (and refused again by the provider).
    const dead = detail.getByTestId('dead-letter-row');
    await expect.poll(() => dead.count()).toBe(1);
    expect(await dead.textContent()).toContain('Refused by the SMS/e-mail provider');
    await dead.getByRole('button', { name: /Replay reminder/ }).click();
    await expect.poll(() => detail.getByTestId('replay-notice').textContent()).toContain('One reminder is queued again');
    expect(await world.db.query("SELECT 1 FROM audit_log WHERE action = 'reminder.replay'")).toHaveLength(1);
    await expect.poll(async () => (await api(`/campaigns/${second}`)).body['states'], { timeout: 15_000 }).toMatchObject({ failed: 1, queued: 0, sending: 0 });
    expect(reminders.fake.messages.map((m) => m.to)).toEqual([PHONES.ada]);

    // ---- The network is back: the page goes live again by itself.
    socket.restore();
    await expect.poll(() => page.getByTestId('feed-status').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');

    // ---- Pause, resume and cancel a campaign while its reminders wait.
    await reminders.pause();
    await page.getByTestId('kind-window').check();
    await page.getByTestId('campaign-launch').click();
    await expect.poll(async () => [first, second].includes((await detail.getAttribute('data-campaign')) ?? first)).toBe(false);
    const third = (await detail.getAttribute('data-campaign')) ?? '';
    await detail.getByTestId('campaign-pause').click();
    await expect.poll(() => detail.getByTestId('campaign-status').textContent()).toBe('Paused');
    expect((await api(`/campaigns/${third}`)).body['status']).toBe('paused');
    await detail.getByTestId('campaign-resume').click();
    await expect.poll(() => detail.getByTestId('campaign-status').textContent()).toBe('Running');
    await detail.getByTestId('campaign-cancel').click();
    await page.getByTestId('campaign-cancel-confirm').click();
    await expect.poll(() => detail.getByTestId('campaign-status').textContent()).toBe('Cancelled');
    reminders.resume();
    await expect.poll(() => detail.getByTestId('reason-campaign_cancelled').textContent(), { timeout: 15_000 }).toBe('2');
    expect((await api(`/campaigns/${third}`)).body).toMatchObject({ status: 'cancelled', states: { skipped: 2, queued: 0 } });
    expect(reminders.fake.messages.map((m) => m.to)).toEqual([PHONES.ada]);

    expect(unexpected(problems)).toEqual([]);
    // Nothing of a patient in the address bar or the title.
    expect(page.url()).toMatch(/\/console\/#campaigns$/);
    expect(await page.title()).toBe('Campaigns — Clinic console');
  });
});
