import { mkdtemp, rm } from 'node:fs/promises';
import { freePort } from '../../core/net.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../../sdk/index.ts';
import { runCli } from '../cli.ts';
import { createChatCommands } from './chat.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function stateDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'chat-cli-'));
  dirs.push(d);
  return path.join(d, 'state');
}

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

async function run(words: string, argv: string[], env: Record<string, string> = {}, stdin = '') {
  const cmd = createChatCommands({ stdin: Readable.from([Buffer.from(stdin)]), stopSignal: AbortSignal.timeout(5_000) }).find((c) => c.words.join(' ') === words);
  if (!cmd) throw new Error(`no command ${words}`);
  const out = capture();
  const err = capture();
  let code: number | Error;
  try {
    code = await cmd.run({ argv, stdout: out.stream, stderr: err.stream, env, interactive: false });
  } catch (e) {
    code = e as Error;
  }
  return { code, out: out.text(), err: err.text() };
}

/** A port nothing listens on (bound, then closed). */
const deadPort = (): Promise<number> => freePort();

describe('telehealth chat', () => {
  it('every chat command is registered and has --help', async () => {
    for (const sub of ['login', 'register-device', 'send', 'listen', 'verify']) {
      const out = capture();
      const code = await runCli({ argv: ['chat', sub, '--help'], stdout: out.stream, stderr: capture().stream, env: {}, interactive: false });
      expect(code).toBe(0);
      expect(out.text()).toContain(`telehealth chat ${sub}`);
    }
  });

  it('send refuses without a local store, and without signing in', async () => {
    const state = await stateDir();
    const env = { TELEHEALTH_CHAT_PASSPHRASE: 'a long passphrase' };
    const missing = await run('chat send', ['--state', state, '--to', 'u', 'hello'], env);
    expect(missing.code).toBeInstanceOf(Error);
    expect(String(missing.code)).toMatch(/no chat state/);
    await (await LocalStore.create(state, { passphrase: env.TELEHEALTH_CHAT_PASSPHRASE })).close();
    const notSignedIn = await run('chat send', ['--state', state, '--to', 'u', 'hello'], env);
    expect(String(notSignedIn.code)).toMatch(/not signed in/);
  });

  it('a wrong passphrase is refused clearly and a missing one without a terminal asks for the variable', async () => {
    const state = await stateDir();
    await (await LocalStore.create(state, { passphrase: 'right passphrase' })).close();
    const wrong = await run('chat verify', ['--state', state, '--peer', 'x'], { TELEHEALTH_CHAT_PASSPHRASE: 'wrong passphrase' });
    expect(String(wrong.code)).toMatch(/wrong passphrase/);
    const none = await run('chat verify', ['--state', state, '--peer', 'x']);
    expect(String(none.code)).toMatch(/TELEHEALTH_CHAT_PASSPHRASE/);
  });

  it('login reports an unreachable gateway with exit 1 and keeps no account', async () => {
    const state = await stateDir();
    const env = { TELEHEALTH_CHAT_PASSPHRASE: 'a long passphrase' };
    const res = await run('chat login', ['--state', state, '--url', `http://127.0.0.1:${await deadPort()}`, '--enrollment-code', 'ABCD-EFGH'], env);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/cannot reach the gateway/);
    const store = await LocalStore.open(state, { passphrase: env.TELEHEALTH_CHAT_PASSPHRASE });
    expect(store.state.app.account).toBeUndefined();
    await store.close();
  });

  it('login needs exactly one of --username and --enrollment-code', async () => {
    const res = await run('chat login', ['--url', 'http://127.0.0.1:1', '--username', 'a', '--enrollment-code', 'b'], {});
    expect(String(res.code)).toMatch(/either --username/);
  });
});
