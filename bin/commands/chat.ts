/**
 * `telehealth chat …`: an end-to-end-encrypted messaging client in the terminal, on the SDK.
 * State (keys, sessions, the session token) lives in an encrypted local store in --state
 * (default ~/.telehealth/chat), unlocked with TELEHEALTH_CHAT_PASSPHRASE or a no-echo prompt.
 * Passwords come from stdin or a prompt, never argv.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { StartupError } from '../../core/errors.ts';
import { connectMessenger, SdkError, type LocalStore, type Messenger } from '../../sdk/index.ts';
import { interruptSignal, openClientStore, saveAccount, SIGN_IN_OPTIONS, signInFromFlags, storedAccount, type Account, type TtyInput } from './client-account.ts';
import type { Command, CommandContext } from './types.ts';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const PASSPHRASE_ENV = 'TELEHEALTH_CHAT_PASSPHRASE';

export interface ChatIo {
  readonly stdin: TtyInput;
  /** Ends `chat listen` (production: SIGINT/SIGTERM). */
  readonly stopSignal?: AbortSignal;
}

const STATE_HELP = `  --state <dir>   where the encrypted local store lives (default ~/.telehealth/chat)
The store is unlocked with ${PASSPHRASE_ENV}, or a prompt on a terminal.`;

function openStore(ctx: CommandContext, io: ChatIo, dir: string | undefined, create: boolean): Promise<LocalStore> {
  const spec = { dir, defaultDir: path.join(homedir(), '.telehealth', 'chat'), passphraseEnv: PASSPHRASE_ENV, label: 'chat', missingHint: 'Run `telehealth chat login` first.' };
  return openClientStore(ctx, io.stdin, spec, create);
}

function accountOf(store: LocalStore): Account {
  const account = storedAccount(store);
  if (account === undefined) throw new StartupError('not signed in', 'Run `telehealth chat login --url <gateway> ...` first.');
  return account;
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
      const { values } = parseArgs({ args: [...ctx.argv], options: { ...SIGN_IN_OPTIONS, state: { type: 'string' } }, strict: true });
      if (values.url === undefined) throw new StartupError('--url is required');
      const flags = await signInFromFlags(values, io.stdin, ctx.stderr, PASSPHRASE_ENV);
      if (flags === undefined) throw new StartupError('give either --username (staff) or --enrollment-code (patient)');
      const store = await openStore(ctx, io, values.state, true);
      try {
        const who = await flags.signIn();
        await saveAccount(store, flags.baseUrl, who);
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
