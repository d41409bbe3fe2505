/**
 * A video visit in real browsers: headless Chromium with a fake camera and microphone opens the
 * patient link and the provider console against a real gateway with a real mediasoup worker.
 * Before admission neither page decodes the other's video; after the provider admits, both
 * decode video (frames growing) and receive audio. Killing the room's mediasoup worker makes
 * both pages rejoin a replacement worker and decode again without reloading, while the process
 * stays up. A reused link and an expired one are refused with a message saying what to do.
 * Screenshots of each page go to test-artifacts/ (not committed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../gateway/testing/identity-harness.ts';
import { buildWebClient, launchBrowser, screenshot, visitStats, waitForFramesDecoded, type PageProblem, type TestBrowser, type TestPage } from '../helpers/browser.ts';
import { startVideoWorld, type VideoWorld } from '../helpers/video.ts';

let w: VideoWorld;
let browser: TestBrowser;

beforeAll(async () => {
  const dist = await buildWebClient();
  w = await startVideoWorld({ webDistDir: dist, env: { VIDEO_EMPTY_GRACE_SECONDS: '30' } });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await w?.close();
});

/** Console noise a visit page may legitimately show (a refused link answers 4xx). */
const unexpected = (problems: readonly PageProblem[]): PageProblem[] => problems.filter((p) => !/status of 4\d\d/.test(p.text));

async function stateOf(p: TestPage): Promise<string> {
  return (await p.page.getByTestId('state').textContent()) ?? '';
}

async function openPatient(token: string): Promise<TestPage> {
  const p = await browser.newPage(w.gateway.url, { viewport: { width: 375, height: 667 } });
  await p.page.goto(`${w.gateway.url}/visit/#${token}`);
  return p;
}

describe('video visit in the browser (real gateway, real mediasoup worker, headless Chromium)', () => {
  it('lobby, admission, two-way video and audio, and a worker crash survived without reloading', async () => {
    const provider = await browser.newPage(w.gateway.url);
    await provider.page.goto(`${w.gateway.url}/provider/`);
    await provider.page.getByTestId('username').fill(w.people.provider.username);
    await provider.page.getByTestId('password').fill(w.people.provider.password);
    await provider.page.getByTestId('code').fill(await totpCode(w.people.provider.totpSecret));
    await provider.page.getByTestId('sign-in').click();
    await provider.page.getByTestId(`open-${w.appointmentId}`).click();

    const patient = await openPatient(await w.newLinkToken());
    // No PHI and no token in what the browser shows or keeps in its address bar.
    await expect.poll(() => patient.page.url()).not.toContain('#');
    expect(await patient.page.title()).toBe('Video visit');
    await patient.page.getByTestId('join').click();
    await expect.poll(() => stateOf(patient), { timeout: 20_000 }).toMatch(/lobby/);
    const admit = provider.page.locator('[data-testid^="admit-"]');
    await admit.waitFor({ timeout: 20_000 });

    // In the lobby for a while: neither side decodes anything of the other.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await visitStats(provider.page))?.videoFramesDecoded ?? 0).toBe(0);
    expect((await visitStats(patient.page))?.videoFramesDecoded ?? 0).toBe(0);

    await admit.click();
    const patientView = await waitForFramesDecoded(patient.page, 30, 30_000);
    const providerView = await waitForFramesDecoded(provider.page, 30, 30_000);
    expect(patientView.videoFrameWidth).toBeGreaterThan(0);
    expect(providerView.videoFrameWidth).toBeGreaterThan(0);
    await expect.poll(async () => (await visitStats(patient.page))?.audioBytesReceived ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(async () => (await visitStats(provider.page))?.audioBytesReceived ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    await screenshot(patient.page, 'video-visit-patient');
    await screenshot(provider.page, 'video-visit-provider');

    // The worker hosting the room dies: both pages rejoin a replacement, no reload.
    for (const p of [patient, provider]) await p.page.evaluate('window.__notReloaded = true');
    const [dead] = w.media.workers();
    process.kill(dead?.pid ?? -1, 'SIGKILL');
    await expect.poll(() => w.media.workers().some((x) => x.pid !== dead?.pid), { timeout: 15_000 }).toBe(true);
    // Counters restart with the new receive transport: decoding again means frames growing past 30 anew.
    await waitForFramesDecoded(patient.page, 30, 45_000);
    await waitForFramesDecoded(provider.page, 30, 45_000);
    for (const p of [patient, provider]) expect(await p.page.evaluate('window.__notReloaded === true')).toBe(true);
    await screenshot(patient.page, 'video-visit-patient-after-worker-death');

    expect(unexpected(patient.problems)).toEqual([]);
    expect(unexpected(provider.problems)).toEqual([]);
    const actions = (await w.db.query<{ action: string }>("SELECT action FROM audit_log WHERE action LIKE 'visit.%'")).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['visit.link.redeem', 'visit.room.open', 'visit.join', 'visit.admit', 'visit.room.close']));
  });

  it('a reused link and an expired link are refused with what to do next', async () => {
    const token = await w.newLinkToken();
    const first = await openPatient(token);
    await first.page.getByTestId('join').waitFor({ timeout: 20_000 });
    const again = await openPatient(token);
    await expect.poll(async () => (await again.page.getByTestId('error').textContent()) ?? '', { timeout: 10_000 }).toMatch(/already been used/i);

    const late = await w.newLinkToken();
    // The appointment is over by the time the patient opens this link.
    await w.db.query("UPDATE appointments SET starts_at = now() - interval '2 hours', ends_at = now() - interval '1 minute' WHERE id = $1", [w.appointmentId]);
    const expired = await openPatient(late);
    await expect.poll(async () => (await expired.page.getByTestId('error').textContent()) ?? '', { timeout: 10_000 }).toMatch(/expired/i);
    expect(await expired.page.title()).toBe('Video visit');
  });
});
