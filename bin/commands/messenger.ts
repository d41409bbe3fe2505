/**
 * `telehealth messenger`: the end-to-end-encrypted chat as a local app (DESIGN.md §6). Unlocks the
 * encrypted local store, signs in (flags, or later in the page), registers this device once, and
 * serves the chat page on 127.0.0.1 only, on a random port, behind a one-time launch link. The
 * libsignal keys and the messages never leave this machine unencrypted.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StartupError } from '../../core/errors.ts';
import { connectMessenger, SdkError, type LocalStore } from '../../sdk/index.ts';
import { DEFAULT_MAX_ATTACHMENT_BYTES, loadPageFiles, PAGE_NOT_BUILT, startMessengerApp, type AccountSlot, type MessengerApp, type PageFiles } from '../../sdk/messenger-app/index.ts';
import { interruptSignal, openClientStore, saveAccount, SIGN_IN_OPTIONS, signInFromFlags, storedAccount, type TtyInput } from './client-account.ts';
import type { Command, CommandContext } from './types.ts';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const PASSPHRASE_ENV = 'TELEHEALTH_MESSENGER_PASSPHRASE';
const WEB_DIST = fileURLToPath(new URL('../../web-client/dist', import.meta.url));

export interface MessengerIo {
  readonly stdin: TtyInput;
  /** Stops the app (production: SIGINT/SIGTERM). */
  readonly stopSignal?: AbortSignal;
  /** Called once the app serves (tests drive it in-process). */
  readonly onStarted?: (app: MessengerApp) => void;
  /** Where the built page lives (default web-client/dist). */
  readonly webDistDir?: string;
}

const HELP = `Usage: telehealth messenger [--url <gateway>] [sign-in] [--state <dir>] [--label <name>] [--max-attachment-mb <n>]

Runs the secure messenger on this computer and prints a link to open it in your browser. The
app holds this device's encryption keys and your messages in an encrypted local store; the
gateway only relays ciphertext. The page is served on 127.0.0.1 only, on a random port; the
link carries a one-time secret (press Enter in this terminal for a new link). Ctrl-C stops it.

Sign-in (optional — without it the app uses the session kept in the store, or the page asks):
  --url <gateway>            the clinic's gateway, e.g. https://clinic.example
  --username <name>          staff: sign in with password and authenticator code
    --password-stdin         read the password from stdin (else a no-echo prompt)
    --totp <code>            the 6-digit authenticator code (else a prompt)
  --enrollment-code <code>   patients: redeem the code the clinic gave you

Options:
  --state <dir>              the encrypted local store (default ~/.telehealth/messenger)
  --label <name>             this device's name on your account (default "messenger")
  --max-attachment-mb <n>    largest file you can send, in MB (default ${DEFAULT_MAX_ATTACHMENT_BYTES / 1_000_000})

The store is unlocked with ${PASSPHRASE_ENV}, or a no-echo prompt on a terminal. The first start
creates it; keep the passphrase — without it the keys and messages cannot be read.

Exit codes: 0 stopped normally, 1 the gateway refused or could not be reached, 2 usage problem.`;

/** Where the last gateway is remembered once its session is gone, so a restart needs no --url. */
const LAST_GATEWAY = 'messengerGateway';

function lastGateway(store: LocalStore): string | undefined {
  const url = store.state.app[LAST_GATEWAY];
  return storedAccount(store)?.gatewayUrl ?? (typeof url === 'string' ? url : undefined);
}

function accountSlot(store: LocalStore): AccountSlot {
  return {
    load: () => storedAccount(store),
    async save(gatewayUrl, who) {
      await saveAccount(store, gatewayUrl, who);
    },
    async clear() {
      const gateway = lastGateway(store);
      delete store.state.app['account'];
      if (gateway !== undefined) store.state.app[LAST_GATEWAY] = gateway;
      await store.commit();
    },
  };
}

function maxAttachmentBytes(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_MAX_ATTACHMENT_BYTES;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0.001 || mb > 100) throw new StartupError(`--max-attachment-mb must be a number from 0.001 to 100, not "${raw.slice(0, 20)}"`);
  return Math.floor(mb * 1_000_000);
}

function isHttpUrl(raw: string): boolean {
  try {
    const u = new URL(raw);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** The built page, before anything else (no passphrase prompt for an app that cannot serve). */
async function pageFiles(dir: string): Promise<PageFiles> {
  try {
    return await loadPageFiles(dir);
  } catch (err) {
    if (err instanceof SdkError && err.code === PAGE_NOT_BUILT) throw new StartupError(err.message);
    throw err;
  }
}

/** Wait for the stop signal; on a terminal, Enter prints a fresh launch link meanwhile. */
function serveUntilStopped(ctx: CommandContext, io: MessengerIo, app: MessengerApp): Promise<void> {
  const stop = io.stopSignal ?? interruptSignal();
  const tty = io.stdin.isTTY === true;
  const onLine = () => ctx.stdout.write(`New one-time link: ${app.launchUrl()}\n`);
  if (tty) {
    io.stdin.on('data', onLine);
    io.stdin.resume();
  }
  return new Promise((resolve) => {
    const done = () => {
      if (tty) {
        io.stdin.off('data', onLine);
        io.stdin.pause();
      }
      resolve();
    };
    if (stop.aborted) return done();
    stop.addEventListener('abort', done, { once: true });
  });
}

export function createMessengerCommand(io: MessengerIo): Command {
  return {
    words: ['messenger'],
    summary: 'run the end-to-end-encrypted messenger as a local app in your browser',
    help: HELP,
    async run(ctx) {
      const { values } = parseArgs({
        args: [...ctx.argv],
        options: { ...SIGN_IN_OPTIONS, state: { type: 'string' }, label: { type: 'string' }, 'max-attachment-mb': { type: 'string' } },
        strict: true,
      });
      if (values.url !== undefined && !isHttpUrl(values.url)) throw new StartupError(`--url must be the gateway's http(s) address, e.g. https://clinic.example, not "${values.url.slice(0, 60)}"`);
      const maxBytes = maxAttachmentBytes(values['max-attachment-mb']);
      const label = values.label ?? 'messenger';
      if (label.length > 64) throw new StartupError('--label may be at most 64 characters');
      const files = await pageFiles(io.webDistDir ?? WEB_DIST);
      const flags = await signInFromFlags(values, io.stdin, ctx.stderr, PASSPHRASE_ENV);
      const spec = { dir: values.state, defaultDir: path.join(homedir(), '.telehealth', 'messenger'), passphraseEnv: PASSPHRASE_ENV, label: 'messenger', missingHint: '' };
      const store = await openClientStore(ctx, io.stdin, spec, true);
      let app: MessengerApp | undefined;
      try {
        if (flags !== undefined) {
          const who = await flags.signIn();
          await saveAccount(store, flags.baseUrl, who);
          ctx.stdout.write(`Signed in as ${who.userId} (${who.kind}).\n`);
        }
        const gatewayUrl = flags?.baseUrl ?? values.url ?? lastGateway(store);
        if (gatewayUrl === undefined) throw new StartupError('no gateway to sign in to', 'Start it once with --url <gateway> (and --username or --enrollment-code to sign in here).');
        app = await startMessengerApp({
          store,
          account: accountSlot(store),
          gatewayUrl,
          connect: (o) => connectMessenger(store, o),
          files,
          deviceLabel: label,
          maxAttachmentBytes: maxBytes,
        });
        const session = app.core.session('');
        ctx.stdout.write(
          [
            session.signedIn ? `Messenger is running for ${session.account?.userId ?? 'this account'} (device ${session.account?.deviceId ?? '?'}).` : 'Messenger is running; sign in on the page.',
            `Open this link in your browser (it works once): ${app.launchUrl()}`,
            `${io.stdin.isTTY === true ? 'Press Enter for a new link, ' : ''}Ctrl-C to stop.`,
            '',
          ].join('\n'),
        );
        io.onStarted?.(app);
        await serveUntilStopped(ctx, io, app);
        return EXIT_OK;
      } catch (err) {
        if (!(err instanceof SdkError)) throw err;
        ctx.stderr.write(`telehealth messenger: ${err.message}${err.status === undefined ? '' : ` (${err.status} ${err.code})`}\n`);
        if (err.code === 'network_error') ctx.stderr.write('Check --url and your connection, then start it again.\n');
        else if (err.status === 401) ctx.stderr.write('Check what you typed and start it again; patients need a new enrollment code once one was used.\n');
        return EXIT_FAILED;
      } finally {
        await app?.close();
        await store.close();
      }
    },
  };
}

export const messengerCommands: readonly Command[] = [createMessengerCommand({ stdin: process.stdin })];
