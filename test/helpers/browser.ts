/**
 * Browser tests of the video-visit pages: headless Chromium (the system /usr/bin/chromium via
 * playwright-core) with a fake camera and microphone, one fresh context per page (own cookies,
 * camera + microphone granted for the page's origin), console and page errors collected for
 * assertions, polling of the page's `window.__visitStats`, screenshots into test-artifacts/, and
 * a once-per-run build of web-client/ (skipped when dist is newer than the sources).
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const WEB_DIST = join(REPO, 'web-client', 'dist');
const ARTIFACTS = join(REPO, 'test-artifacts');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
];

/** A console error, an uncaught page error, or a failed request, with where it came from. */
export interface PageProblem {
  readonly kind: 'console' | 'pageerror' | 'requestfailed';
  readonly text: string;
  readonly url: string;
}

export interface TestPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Everything that went wrong on the page so far; assert on it (filter the expected ones). */
  readonly problems: PageProblem[];
}

export interface TestBrowser {
  readonly browser: Browser;
  /** A page in a fresh context (own cookies and storage) with camera and microphone granted for `origin`. */
  /** `bypassCSP` only for injecting test tooling (axe-core); the product's pages must work under their CSP. */
  newPage(origin: string, options?: { viewport?: { width: number; height: number }; bypassCSP?: boolean }): Promise<TestPage>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    async newPage(origin, options = {}) {
      const context = await browser.newContext({ viewport: options.viewport ?? { width: 1024, height: 768 }, bypassCSP: options.bypassCSP === true });
      contexts.push(context);
      await context.grantPermissions(['camera', 'microphone'], { origin });
      const page = await context.newPage();
      const problems: PageProblem[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push({ kind: 'console', text: msg.text(), url: msg.location().url });
      });
      page.on('pageerror', (err) => problems.push({ kind: 'pageerror', text: `${err.name}: ${err.message}`, url: page.url() }));
      page.on('requestfailed', (req) => problems.push({ kind: 'requestfailed', text: req.failure()?.errorText ?? 'failed', url: req.url() }));
      return { page, context, problems };
    },
    async close() {
      for (const c of contexts.splice(0)) await c.close();
      await browser.close();
    },
  };
}

/** What the visit pages expose as `window.__visitStats()`. */
export interface PageVisitStats {
  readonly videoFramesDecoded: number;
  readonly videoFrameWidth: number;
  readonly audioBytesReceived: number;
  readonly audioSamplesReceived: number;
  readonly rttMs: number;
  readonly state: string;
}

export async function visitStats(page: Page): Promise<PageVisitStats | null> {
  // A string: this file is type-checked without the DOM library.
  return await page.evaluate<PageVisitStats | null>('window.__visitStats ? window.__visitStats() : null');
}

/**
 * Waits until the page has decoded more than `min` video frames and the count is still growing
 * (video is flowing now, not just once). Throws with the last stats on timeout.
 */
export async function waitForFramesDecoded(page: Page, min: number, timeoutMs: number): Promise<PageVisitStats> {
  const deadline = Date.now() + timeoutMs;
  let previous: PageVisitStats | null = null;
  let last: PageVisitStats | null = null;
  while (Date.now() < deadline) {
    last = await visitStats(page);
    if (last !== null && previous !== null && last.videoFramesDecoded > min && last.videoFramesDecoded > previous.videoFramesDecoded) return last;
    previous = last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`video frames did not reach ${min} and keep growing within ${timeoutMs} ms (last stats: ${JSON.stringify(last)})`);
}

/** Saves a PNG under test-artifacts/ (gitignored) and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// ---- building web-client once per run ----

const SOURCES = ['web-client/shared', 'web-client/visit', 'web-client/provider', 'web-client/console', 'web-client/messenger', 'web-client/vite.config.ts', 'web-client/tsconfig.json', 'core/protocol', 'package-lock.json'];

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestMtime(join(path, entry)));
  return newest;
}

async function distIsFresh(): Promise<boolean> {
  const built = await Promise.all(['visit/index.html', 'provider/index.html', 'console/index.html', 'messenger/index.html'].map((p) => stat(join(WEB_DIST, p)).then((s) => s.mtimeMs, () => 0)));
  const oldest = Math.min(...built);
  if (oldest === 0) return false;
  const sources = await Promise.all(SOURCES.map((s) => newestMtime(join(REPO, s))));
  return Math.max(...sources) < oldest;
}

function runViteBuild(): Promise<void> {
  return new Promise((resolve, reject) => {
    const vite = join(REPO, 'node_modules', 'vite', 'bin', 'vite.js');
    const child = spawn(process.execPath, [vite, 'build', '--config', 'web-client/vite.config.ts'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vite build failed (${code}):\n${output}`))));
  });
}

/** Test files run in parallel processes: only one of them builds; the others wait for it. */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), `telehealth-web-build-${Buffer.from(REPO).toString('base64url').slice(-24)}.lock`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (await stat(lock).then((s) => s.mtimeMs, () => Date.now()));
      if (age > 120_000) await rm(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for another web-client build (${lock})`);
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

let building: Promise<string> | undefined;

/** Builds web-client/ into web-client/dist (unless it is newer than every source) and returns dist. */
export function buildWebClient(): Promise<string> {
  building ??= withBuildLock(async () => {
    if (!(await distIsFresh())) await runViteBuild();
    return WEB_DIST;
  });
  return building;
}
