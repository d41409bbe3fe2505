/**
 * `telehealth chat …`: an end-to-end-encrypted messaging client in the terminal, on the SDK.
 * State (keys, sessions, the session token) lives in an encrypted local store in --state
 * (default ~/.telehealth/chat), unlocked with TELEHEALTH_CHAT_PASSPHRASE or a no-echo prompt.
 * Passwords come from stdin or a prompt, never argv.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { StartupError } from '../../core/errors.ts';
import { connectMessenger, LocalStore, redeemEnrollmentCode, SdkError, signInStaff, type Messenger, type SignedIn } from '../../sdk/index.ts';
import { readPasswordFrom } from './admin.ts';
import type { Command, CommandContext } from './types.ts';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const PASSPHRASE_ENV = 'TELEHEALTH_CHAT_PASSPHRASE';

interface TtyInput extends Readable {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface ChatIo {
  readonly stdin: TtyInput;
  /** Ends `chat listen` (production: SIGINT/SIGTERM). */
  readonly stopSignal?: AbortSignal;
}

interface Account {
  readonly gatewayUrl: string;
  readonly token: string;
  readonly userId: string;
}

const STATE_HELP = `  --state <dir>   where the encrypted local store lives (default ~/.telehealth/chat)
The store is unlocked with ${PASSPHRASE_ENV}, or a prompt on a terminal.`;

function hiddenPrompt(input: TtyInput, output: Writable, prompt: string): Promise<string> {
  const setRaw = input.setRawMode?.bind(input);
  if (!setRaw) return Promise.reject(new StartupError(`stdin is not a terminal: set ${PASSPHRASE_ENV}`));
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (data: Buffer | string) => {
      for (const ch of typeof data === 'string' ? data : data.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0003') {
          input.off('data', onData);
          setRaw(false);
          input.pause();
          output.write('\n');
          return ch === '\u0003' ? reject(new StartupError('cancelled')) : resolve(value);
        }
        value = ch === '\u007f' ? [...value].slice(0, -1).join('') : value + ch;
      }
      return undefined;
    };
    setRaw(true);
    input.resume();
    input.on('data', onData);
  });
}

async function openStore(ctx: CommandContext, io: ChatIo, dir: string | undefined, create: boolean): Promise<LocalStore> {
  const stateDir = dir ?? path.join(homedir(), '.telehealth', 'chat');
  const passphrase = ctx.env[PASSPHRASE_ENV] ?? (await hiddenPrompt(io.stdin, ctx.stderr, 'Chat store passphrase: '));
  if (passphrase === '') throw new StartupError(`the chat store passphrase is empty (${PASSPHRASE_ENV})`);
  try {
    return create ? await LocalStore.openOrCreate(stateDir, { passphrase }) : await LocalStore.open(stateDir, { passphrase });
  } catch (err) {
    if (err instanceof SdkError && err.code === 'store_not_found') throw new StartupError(`no chat state in ${stateDir}`, 'Run `telehealth chat login` first.');
    if (err instanceof SdkError) throw new StartupError(err.message);
    throw err;
  }
}

function accountOf(store: LocalStore): Account {
  const a = store.state.app.account as Partial<Account> | undefined;
  if (typeof a?.gatewayUrl !== 'string' || typeof a.token !== 'string' || typeof a.userId !== 'string') {
    throw new StartupError('not signed in', 'Run `telehealth chat login --url <gateway> ...` first.');
  }
  return { gatewayUrl: a.gatewayUrl, token: a.token, userId: a.userId };
}

/** Open the store and a messenger; `fn` runs with both, and both are closed afterwards. */
async function withMessenger(ctx: CommandContext, io: ChatIo, stateDir: string | undefined, needsDevice: boolean, fn: (m: Messenger, a: Account) => Promise<number>): Promise<number> {
  const store = await openStore(ctx, io, stateDir, false);
  try {
    const account = accountOf(store);
    const messenger = connectMessenger(store, { baseUrl: account.gatewayUrl, token: account.token });
    try {
      if (needsDevice && !messenger.registered) throw new StartupError('this device is not registered', 'Run `telehealth chat register-device` first.');
      return await fn(messenger, account);
    } finally {
      await messenger.close();
    }
  } catch (err) {
    if (err instanceof SdkError) {
      ctx.stderr.write(`telehealth chat: ${err.message}${err.status === undefined ? '' : ` (${err.status} ${err.code})`}\n`);
      return EXIT_FAILED;
    }
    throw err;
  } finally {
    await store.close();
  }
}

/** Aborts on the first Ctrl-C / SIGTERM, so `listen` closes its socket and store cleanly. */
function interruptSignal(): AbortSignal {
  const ac = new AbortController();
  const onSignal = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    ac.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return ac.signal;
}

export function createChatCommands(io: ChatIo): Command[] {
  const login: Command = {
    words: ['chat', 'login'],
    summary: 'sign in to a gateway for end-to-end-encrypted messaging',
    help: `Usage: telehealth chat login --url <gateway> --username <name> [--password-stdin] --totp <code> [--state <dir>]
       telehealth chat login --url <gateway> --enrollment-code <code> [--state <dir>]

Staff sign in with username, password (stdin with --password-stdin, else a no-echo prompt) and
the 6-digit authenticator code; patients redeem the enrollment code the clinic gave them. The
session token is kept in the encrypted local store.
${STATE_HELP}

Exit codes: 0 signed in, 1 refused by the gateway, 2 usage problem.`,
    async run(ctx) {
      const { values } = parseArgs({
        args: [...ctx.argv],
        options: { url: { type: 'string' }, username: { type: 'string' }, 'password-stdin': { type: 'boolean', default: false }, totp: { type: 'string' }, 'enrollment-code': { type: 'string' }, state: { type: 'string' } },
        strict: true,
      });
      if (values.url === undefined) throw new StartupError('--url is required');
      const baseUrl = values.url;
      if ((values.username === undefined) === (values['enrollment-code'] === undefined)) throw new StartupError('give either --username (staff) or --enrollment-code (patient)');
      let signIn: () => Promise<SignedIn>;
      if (values.username !== undefined) {
        const username = values.username;
        const password = values['password-stdin'] ? await readPasswordFrom(io.stdin) : await hiddenPrompt(io.stdin, ctx.stderr, 'Password: ');
        const totp = values.totp ?? (await hiddenPrompt(io.stdin, ctx.stderr, 'Authenticator code: '));
        signIn = () => signInStaff({ baseUrl }, username, password, totp);
      } else {
        const code = values['enrollment-code'] ?? '';
        signIn = () => redeemEnrollmentCode({ baseUrl }, code);
      }
      const store = await openStore(ctx, io, values.state, true);
      try {
        const who = await signIn();
        const local = store.state.local;
        if (local && local.userId !== who.userId) throw new StartupError('this chat state belongs to another account; use another --state directory');
        store.state.app.account = { gatewayUrl: baseUrl, token: who.token, userId: who.userId } satisfies Account;
        await store.commit();
        ctx.stdout.write(`Signed in as ${who.userId} (${who.kind}); session expires ${who.expiresAt}\n`);
        return EXIT_OK;
      } catch (err) {
        if (!(err instanceof SdkError)) throw err;
        ctx.stderr.write(`telehealth chat login: ${err.message}\n`);
        return EXIT_FAILED;
      } finally {
        await store.close();
      }
    },
  };

  const register: Command = {
    words: ['chat', 'register-device'],
    summary: 'generate this device’s keys and register it with the gateway',
    help: `Usage: telehealth chat register-device [--label <name>] [--state <dir>]

Generates the identity key, signed prekey, last-resort Kyber key and 100 EC + 100 Kyber one-time
prekeys with libsignal, keeps the private parts in the local store, uploads the public parts.
${STATE_HELP}`,
    async run(ctx) {
      const { values } = parseArgs({ args: [...ctx.argv], options: { label: { type: 'string' }, state: { type: 'string' } }, strict: true });
      return withMessenger(ctx, io, values.state, false, async (m, account) => {
        if (m.registered) throw new StartupError(`this device is already registered as device ${m.local.deviceId}`);
        const { deviceId } = await m.registerDevice(account.userId, values.label);
        ctx.stdout.write(`Registered device ${deviceId}\n`);
        return EXIT_OK;
      });
    },
  };

  const send: Command = {
    words: ['chat', 'send'],
    summary: 'send an end-to-end-encrypted text message to a user',
    help: `Usage: telehealth chat send --to <userId> [--state <dir>] <text>

Encrypts the text for every device of the recipient (and a copy for your other devices) and
prints the message's client id.
${STATE_HELP}`,
    async run(ctx) {
      const { values, positionals } = parseArgs({ args: [...ctx.argv], options: { to: { type: 'string' }, state: { type: 'string' } }, strict: true, allowPositionals: true });
      if (values.to === undefined || positionals.length === 0) throw new StartupError('--to <userId> and the text are required');
      const to = values.to;
      return withMessenger(ctx, io, values.state, true, async (m) => {
        const sent = await m.sendText(to, positionals.join(' '));
        ctx.stdout.write(`Sent ${sent.clientId} (${sent.envelopeIds.length} device(s))\n`);
        return EXIT_OK;
      });
    },
  };

  const listen: Command = {
    words: ['chat', 'listen'],
    summary: 'print incoming messages as they arrive (sends delivery receipts)',
    help: `Usage: telehealth chat listen [--exit-when-drained] [--state <dir>]

Receives as this device: stored messages first, then live ones, one line each:
  <server time> <userId>.<device>: <text>
Sends a delivery receipt for each message. Runs until Ctrl-C or the session ends
(--exit-when-drained: stop after the stored backlog).
${STATE_HELP}`,
    async run(ctx) {
      const { values } = parseArgs({ args: [...ctx.argv], options: { 'exit-when-drained': { type: 'boolean', default: false }, state: { type: 'string' } }, strict: true });
      return withMessenger(ctx, io, values.state, true, async (m) => {
        let code = EXIT_OK;
        await new Promise<void>((resolve, reject) => {
          m.on('message', (e) => ctx.stdout.write(`${e.serverTs} ${e.from.userId}.${e.from.deviceId}: ${e.message.text}\n`));
          m.on('sentCopy', (e) => ctx.stdout.write(`(sent from device ${e.from.deviceId} to ${e.to}): ${e.message.text}\n`));
          m.on('receipt', (e) => ctx.stdout.write(`${e.receipt} by ${e.from.userId}.${e.from.deviceId}: ${e.clientIds.join(', ')}\n`));
          m.on('identityChanged', (e) => ctx.stderr.write(`WARNING: the safety number with ${e.userId} device ${e.deviceId} changed; run \`telehealth chat verify --peer ${e.userId}\`\n`));
          m.on('decryptError', (e) => ctx.stderr.write(`could not decrypt a message from ${e.from.userId}.${e.from.deviceId}: ${e.error.message}\n`));
          m.on('error', (e) => ctx.stderr.write(`telehealth chat: ${e.error.message}\n`));
          m.on('sessionEnded', (e) => {
            ctx.stderr.write(`the session ended (${e.reason}); run \`telehealth chat login\` again\n`);
            code = EXIT_FAILED;
            resolve();
          });
          if (values['exit-when-drained']) m.on('drained', () => resolve());
          const stop = io.stopSignal ?? interruptSignal();
          stop.addEventListener('abort', () => resolve(), { once: true });
          m.start().catch(reject);
        });
        return code;
      });
    },
  };

  const verify: Command = {
    words: ['chat', 'verify'],
    summary: 'print the safety number with a user (compare it with them in person)',
    help: `Usage: telehealth chat verify --peer <userId> [--mark-verified <deviceId>] [--accept-change <deviceId>] [--state <dir>]

Prints one 60-digit safety number per device of the peer. Compare it with theirs (in person or
by a call); if it matches, --mark-verified <deviceId> makes a later key change block sending
until you compare again. After such a change, --accept-change <deviceId> clears the verified
mark so the new key is used (then compare the new number and mark it verified again).
${STATE_HELP}`,
    async run(ctx) {
      const { values } = parseArgs({ args: [...ctx.argv], options: { peer: { type: 'string' }, 'mark-verified': { type: 'string' }, 'accept-change': { type: 'string' }, state: { type: 'string' } }, strict: true });
      if (values.peer === undefined) throw new StartupError('--peer <userId> is required');
      const peer = values.peer;
      return withMessenger(ctx, io, values.state, true, async (m) => {
        if (values['accept-change'] !== undefined) await m.markVerified(peer, Number.parseInt(values['accept-change'], 10), false);
        if (values['mark-verified'] !== undefined) await m.markVerified(peer, Number.parseInt(values['mark-verified'], 10));
        const numbers = await m.refreshSafetyNumbers(peer);
        for (const n of numbers) ctx.stdout.write(`device ${n.deviceId}: ${n.digits.replace(/(\d{5})(?=\d)/g, '$1 ')}${n.verified ? '  (verified)' : ''}\n`);
        return numbers.length > 0 ? EXIT_OK : EXIT_FAILED;
      });
    },
  };

  return [login, register, send, listen, verify];
}

export const chatCommands: readonly Command[] = createChatCommands({ stdin: process.stdin });
