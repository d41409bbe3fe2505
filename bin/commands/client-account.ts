/**
 * What the end-user clients on the SDK (`telehealth chat`, `telehealth messenger`) share: a no-echo
 * prompt, unlocking the encrypted local store with a passphrase (an environment variable or the
 * prompt), the gateway account kept in that store, and signing in from command-line flags (staff:
 * username, password from stdin or a prompt, authenticator code; patients: an enrollment code).
 * Passwords never come from argv.
 */
import type { Readable, Writable } from 'node:stream';
import { StartupError } from '../../core/errors.ts';
import { LocalStore, redeemEnrollmentCode, SdkError, signInStaff, type SignedIn } from '../../sdk/index.ts';
import { readPasswordFrom } from './admin.ts';
import type { CommandContext } from './types.ts';

export interface TtyInput extends Readable {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/** The gateway session a client keeps in its local store (`state.app.account`). */
export interface Account {
  readonly gatewayUrl: string;
  readonly token: string;
  readonly userId: string;
}

/** Which store, and how it is unlocked. */
export interface StoreSpec {
  /** --state, when given. */
  readonly dir: string | undefined;
  readonly defaultDir: string;
  /** The environment variable holding the passphrase (tests, scripts). */
  readonly passphraseEnv: string;
  /** Shown in prompts and errors, e.g. "chat". */
  readonly label: string;
  /** What to run when the store does not exist yet (only when not creating). */
  readonly missingHint: string;
}

/** Prompt on a terminal without echoing what is typed. Ctrl-C aborts; no terminal → ask for `envHint`. */
export function hiddenPrompt(input: TtyInput, output: Writable, prompt: string, envHint: string): Promise<string> {
  const setRaw = input.setRawMode?.bind(input);
  if (!setRaw) return Promise.reject(new StartupError(`stdin is not a terminal: set ${envHint}`));
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

/** Unlock (or, with `create`, create) the local store; SDK errors become operator-readable StartupErrors. */
export async function openClientStore(ctx: CommandContext, stdin: TtyInput, spec: StoreSpec, create: boolean): Promise<LocalStore> {
  const stateDir = spec.dir ?? spec.defaultDir;
  const passphrase = ctx.env[spec.passphraseEnv] ?? (await hiddenPrompt(stdin, ctx.stderr, `${spec.label[0]?.toUpperCase() ?? ''}${spec.label.slice(1)} store passphrase: `, spec.passphraseEnv));
  if (passphrase === '') throw new StartupError(`the ${spec.label} store passphrase is empty (${spec.passphraseEnv})`);
  try {
    return create ? await LocalStore.openOrCreate(stateDir, { passphrase }) : await LocalStore.open(stateDir, { passphrase });
  } catch (err) {
    if (err instanceof SdkError && err.code === 'store_not_found') throw new StartupError(`no ${spec.label} state in ${stateDir}`, spec.missingHint);
    if (err instanceof SdkError) throw new StartupError(err.message);
    throw err;
  }
}

/** The stored account, or undefined when this store never signed in (or lost its token). */
export function storedAccount(store: LocalStore): Account | undefined {
  const a = store.state.app['account'] as Partial<Account> | undefined;
  if (typeof a?.gatewayUrl !== 'string' || typeof a.token !== 'string' || typeof a.userId !== 'string') return undefined;
  return { gatewayUrl: a.gatewayUrl, token: a.token, userId: a.userId };
}

/** Keep a new session in the store; refuses a store whose device belongs to another account. */
export async function saveAccount(store: LocalStore, gatewayUrl: string, who: SignedIn): Promise<Account> {
  const local = store.state.local;
  if (local && local.userId !== who.userId) throw new StartupError('this local state belongs to another account; use another --state directory');
  const account: Account = { gatewayUrl, token: who.token, userId: who.userId };
  store.state.app['account'] = account;
  await store.commit();
  return account;
}

/** The parseArgs options of a sign-in: spread them into a command's own options. */
export const SIGN_IN_OPTIONS = {
  url: { type: 'string' },
  username: { type: 'string' },
  'password-stdin': { type: 'boolean', default: false },
  totp: { type: 'string' },
  'enrollment-code': { type: 'string' },
} as const;

export interface SignInFlags {
  readonly url?: string | undefined;
  readonly username?: string | undefined;
  readonly 'password-stdin'?: boolean | undefined;
  readonly totp?: string | undefined;
  readonly 'enrollment-code'?: string | undefined;
}

/**
 * Collect what a sign-in from flags needs (prompting for the password and the authenticator code
 * when not given) and return the call to make, or undefined when no sign-in was asked for.
 * Both --username and --enrollment-code, or either without --url, is a usage error.
 */
export async function signInFromFlags(values: SignInFlags, stdin: TtyInput, stderr: Writable, envHint: string): Promise<{ baseUrl: string; signIn: () => Promise<SignedIn> } | undefined> {
  const { username } = values;
  const code = values['enrollment-code'];
  if (username === undefined && code === undefined) return undefined;
  if (username !== undefined && code !== undefined) throw new StartupError('give either --username (staff) or --enrollment-code (patient)');
  if (values.url === undefined) throw new StartupError('--url is required');
  const baseUrl = values.url;
  if (username !== undefined) {
    const password = values['password-stdin'] === true ? await readPasswordFrom(stdin) : await hiddenPrompt(stdin, stderr, 'Password: ', envHint);
    const totp = values.totp ?? (await hiddenPrompt(stdin, stderr, 'Authenticator code: ', envHint));
    return { baseUrl, signIn: () => signInStaff({ baseUrl }, username, password, totp) };
  }
  return { baseUrl, signIn: () => redeemEnrollmentCode({ baseUrl }, code ?? '') };
}

/** Aborts on the first Ctrl-C / SIGTERM, so a long-running client closes its socket and store cleanly. */
export function interruptSignal(): AbortSignal {
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
