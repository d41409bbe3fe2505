/**
 * `telehealth messenger` as a command: registered and documented, usage problems refused with
 * what to do, an unbuilt page or a wrong passphrase caught before serving, an unreachable gateway
 * at sign-in reported with exit 1, and a signed-out app that serves behind a one-time link.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../core/net.ts';
import { LocalStore } from '../../sdk/index.ts';
import type { MessengerApp } from '../../sdk/messenger-app/index.ts';
import { runCli } from '../cli.ts';
import { createMessengerCommand } from './messenger.ts';

const PASS = { TELEHEALTH_MESSENGER_PASSPHRASE: 'a long passphrase for the messenger' };
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'messenger-cli-'));
  dirs.push(d);
  return d;
}

/** A minimal build: the messenger page and its one bundle. */
async function fakeDist(): Promise<string> {
  const dir = await tempDir();
  await mkdir(path.join(dir, 'messenger'));
  await mkdir(path.join(dir, 'assets'));
  await writeFile(path.join(dir, 'messenger', 'index.html'), '<!doctype html><title>Messenger</title><script type="module" src="/assets/messenger-AAAA1111.js"></script>');
  await writeFile(path.join(dir, 'assets', 'messenger-AAAA1111.js'), 'void 0;');
  return dir;
}

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

async function run(argv: string[], opts: { env?: Record<string, string>; webDistDir?: string; stop?: AbortSignal; onStarted?: (app: MessengerApp) => void } = {}) {
  const cmd = createMessengerCommand({
    stdin: Readable.from([]),
    stopSignal: opts.stop ?? AbortSignal.timeout(5_000),
    webDistDir: opts.webDistDir ?? (await fakeDist()),
    ...(opts.onStarted === undefined ? {} : { onStarted: opts.onStarted }),
  });
  const out = capture();
  const err = capture();
  let code: number | Error;
  try {
    code = await cmd.run({ argv, stdout: out.stream, stderr: err.stream, env: opts.env ?? PASS, interactive: false });
  } catch (e) {
    code = e as Error;
  }
  return { code, out: out.text(), err: err.text() };
}

describe('telehealth messenger', () => {
  it('is registered, listed, and documents every option', async () => {
    const out = capture();
    expect(await runCli({ argv: ['messenger', '--help'], stdout: out.stream, stderr: capture().stream, env: {}, interactive: false })).toBe(0);
    for (const word of ['telehealth messenger', '--url', '--username', '--password-stdin', '--totp', '--enrollment-code', '--state', '--label', '--max-attachment-mb', 'TELEHEALTH_MESSENGER_PASSPHRASE', '127.0.0.1', 'one-time']) {
      expect(out.text()).toContain(word);
    }
    const overview = capture();
    await runCli({ argv: ['--help'], stdout: overview.stream, stderr: capture().stream, env: {}, interactive: false });
    expect(overview.text()).toMatch(/^ {2}messenger +run the end-to-end-encrypted messenger/m);
  });

  it('refuses bad options with what to do', async () => {
    const state = path.join(await tempDir(), 'state');
    expect(String((await run(['--state', state, '--url', 'http://127.0.0.1:1', '--max-attachment-mb', 'lots'])).code)).toMatch(/--max-attachment-mb must be a number/);
    expect(String((await run(['--url', 'http://127.0.0.1:1', '--username', 'a', '--enrollment-code', 'b'])).code)).toMatch(/either --username/);
    expect(String((await run(['--enrollment-code', 'b'])).code)).toMatch(/--url is required/);
    expect(String((await run(['--url', 'clinic.example'])).code)).toMatch(/--url must be the gateway's http\(s\) address/);
    const noGateway = await run(['--state', state]);
    expect(noGateway.code).toBeInstanceOf(Error);
    expect(String(noGateway.code)).toMatch(/no gateway to sign in to/);
    expect((noGateway.code as Error & { hint?: string }).hint).toMatch(/--url <gateway>/);
    const noPassphrase = await run(['--state', state, '--url', 'http://127.0.0.1:1'], { env: {} });
    expect(String(noPassphrase.code)).toMatch(/TELEHEALTH_MESSENGER_PASSPHRASE/);
  });

  it('says how to build the page when it is missing, and refuses a wrong passphrase', async () => {
    const state = path.join(await tempDir(), 'state');
    const unbuilt = await run(['--state', state, '--url', 'http://127.0.0.1:1'], { webDistDir: await tempDir() });
    expect(String(unbuilt.code)).toMatch(/npm run build:web/);
    await (await LocalStore.create(state, { passphrase: 'another passphrase' })).close();
    const locked = await run(['--state', state, '--url', 'http://127.0.0.1:1']);
    expect(String(locked.code)).toMatch(/wrong passphrase/);
  });

  it('reports an unreachable gateway at sign-in with exit 1 and what to check', async () => {
    const state = path.join(await tempDir(), 'state');
    const res = await run(['--state', state, '--url', `http://127.0.0.1:${await freePort()}`, '--enrollment-code', 'ABCD-EFGH']);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/cannot reach the gateway/);
    expect(res.err).toMatch(/Check --url/);
  });

  it('signed out, serves on 127.0.0.1 behind a one-time link until stopped', async () => {
    const state = path.join(await tempDir(), 'state');
    const stop = new AbortController();
    let app: MessengerApp | undefined;
    const running = run(['--state', state, '--url', `http://127.0.0.1:${await freePort()}`], { stop: stop.signal, onStarted: (a) => (app = a) });
    await expect.poll(() => app).toBeDefined();
    const origin = app?.origin ?? '';
    expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const link = app?.launchUrl() ?? '';
    const first = await fetch(link, { redirect: 'manual' });
    expect(first.status).toBe(303);
    const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(401);
    const session = (await (await fetch(`${origin}/api/session`, { headers: { cookie } })).json()) as { signedIn: boolean; gateway: string };
    expect(session).toMatchObject({ signedIn: false, gateway: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as string });
    stop.abort();
    const done = await running;
    expect(done.code).toBe(0);
    expect(done.out).toMatch(/Messenger is running; sign in on the page\.\nOpen this link in your browser \(it works once\): http:\/\/127\.0\.0\.1:\d+\/\?launch=[A-Za-z0-9_-]{43}\n/);
    await expect(fetch(`${origin}/api/session`)).rejects.toThrow();
  });
});
