/**
 * The visit pages as built: vite output with nothing inline (the page CSP forbids it), served by
 * webStaticRoutes on a real gateway server, opened in headless Chromium with a fake camera. The
 * media server is not involved: this checks the build, the CSP, the link-redeem error path and
 * the device-check preview. The redeem endpoint is a stand-in answering like the real one.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import type { RouteModule } from '../../gateway/app.ts';
import { startHttpServer, type RunningServer } from '../../gateway/server.ts';
import { testApp } from '../../gateway/testing/harness.ts';
import { WEB_PAGE_CSP, webStaticRoutes } from '../../gateway/web/static-routes.ts';
import { buildWebClient, launchBrowser, screenshot, type PageProblem, type TestBrowser } from '../helpers/browser.ts';

const GOOD_TOKEN = `good-${randomUUID()}`;

/** Stand-in for /visit-links/redeem: one good token, everything else `link_invalid` (404). */
const fakeRedeem: RouteModule = (app) => {
  app.post('/visit-links/redeem', async (c) => {
    const body = await c.req.json<{ token?: unknown; mode?: unknown }>();
    if (body.token !== GOOD_TOKEN || body.mode !== 'cookie') throw new AppError(404, 'link_invalid', 'This visit link is not valid');
    return c.json({ session: { csrfToken: 'test-csrf' }, appointmentId: randomUUID() }, 200);
  });
};

let dist: string;
let server: RunningServer;
let browser: TestBrowser;

beforeAll(async () => {
  dist = await buildWebClient();
  const t = testApp({ modules: [webStaticRoutes({ distDir: dist }), fakeRedeem] });
  server = await startHttpServer(t.app, { config: t.config, log: t.logs.log });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser.close();
  await server.close();
});

/** Problems other than the expected refused redeem request. */
const unexpected = (problems: readonly PageProblem[]): PageProblem[] =>
  problems.filter((p) => !(p.kind === 'console' && /status of 404/.test(p.text) && (p.url.endsWith('/visit-links/redeem') || p.url.endsWith('/auth/session'))));

describe('web-client build', () => {
  it('emits every page with no inline script or style, and every bundle they reference', async () => {
    for (const page of ['visit', 'provider', 'console', 'messenger']) {
      const html = await readFile(join(dist, page, 'index.html'), 'utf8');
      const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
      expect(scripts.length, page).toBeGreaterThan(0);
      for (const s of scripts) expect(s, page).toMatch(/\bsrc="\/assets\/[^"]+\.js"/);
      expect(html, page).not.toMatch(/<script\b[^>]*>\s*[^<\s]/); // no inline body
      expect(html, page).not.toMatch(/<style\b/i);
      expect(html, page).not.toMatch(/\sstyle=/i);
      expect(html, page).not.toMatch(/\son[a-z]+=/i);
      const refs = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
      expect(refs.some((r) => r.endsWith('.css')), page).toBe(true);
      for (const ref of refs) {
        const res = await fetch(`${server.url}${ref}`);
        expect(res.status, ref).toBe(200);
        expect(res.headers.get('cache-control'), ref).toBe('public, max-age=31536000, immutable');
      }
      // The messenger page is only ever served by the local messenger app, never by the gateway.
      const served = await fetch(`${server.url}/${page}/`);
      if (page === 'messenger') expect(served.status).toBe(404);
      else expect(served.headers.get('content-security-policy')).toBe(WEB_PAGE_CSP);
    }
  });

  it('shows the invalid-link message for a bad token and drops the token from the URL', async () => {
    const { page, problems } = await browser.newPage(server.url);
    await page.goto(`${server.url}/visit/#not-a-real-token`);
    const error = page.getByTestId('error');
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toMatch(/not valid.*new link/i);
    expect(await page.getByTestId('state').textContent()).toBe('error');
    expect(page.url()).toBe(`${server.url}/visit/`);
    expect(await page.title()).toBe('Video visit');
    expect(problems.some((p) => p.url.endsWith('/visit-links/redeem')), 'the refused redeem is the one expected failure').toBe(true);
    expect(unexpected(problems)).toEqual([]);
  });

  it('redeems a good link and plays the fake camera in the device check on a phone viewport', async () => {
    const { page, problems } = await browser.newPage(server.url, { viewport: { width: 375, height: 667 } });
    await page.goto(`${server.url}/visit/#${GOOD_TOKEN}`);
    await page.getByTestId('join').waitFor({ state: 'visible' });
    expect(await page.getByTestId('state').textContent()).toBe('device-check');
    expect(page.url()).not.toContain(GOOD_TOKEN);
    await page.waitForFunction('document.querySelector("[data-testid=self-video]").videoWidth > 0', undefined, { timeout: 10_000 });
    expect(await page.evaluate('document.querySelector("[data-testid=camera-select]").options.length')).toBeGreaterThan(0);
    // Usable at 375 px: nothing overflows sideways and Join is fully on screen.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    const join = await page.getByTestId('join').boundingBox();
    expect(join).not.toBeNull();
    expect((join?.x ?? 0) + (join?.width ?? 999)).toBeLessThanOrEqual(375);
    await screenshot(page, 'visit-device-check-phone');
    expect(unexpected(problems)).toEqual([]);
  });

  it('opens the provider console at the sign-in form', async () => {
    const { page, problems } = await browser.newPage(server.url);
    await page.goto(`${server.url}/provider/`);
    await page.getByTestId('sign-in').waitFor({ state: 'visible' });
    expect(await page.getByTestId('state').textContent()).toBe('signed-out');
    expect(await page.getByLabel('Username').isVisible()).toBe(true);
    expect(unexpected(problems)).toEqual([]);
  });
});
