/**
 * `telehealth admin create-user`: create a staff account from the operator's shell, which is how
 * the first admin exists (the admin API needs a signed-in admin). The password comes from stdin
 * (`--password-stdin`, for scripts) or a no-echo prompt on a terminal, never from argv (visible in
 * `ps` and shell history). The password policy is enforced, the creation is audited as
 * system `cli`, and TOTP enrollment is left to the user's first sign-in.
 */
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { ActorType, AuditAction, AuditOutcome, createAuditLog } from '../../core/audit/index.ts';
import { loadConfig } from '../../core/config/load.ts';
import { migrate } from '../../core/db/migrate.ts';
import { openDatabase } from '../../core/db/open.ts';
import { AppError, StartupError } from '../../core/errors.ts';
import { STAFF_ROLES, type StaffRole } from '../../core/identity/principal.ts';
import { createUserStore, normalizeUsername } from '../../core/identity/user-store.ts';
import { hashPassword, PASSWORD_LIMITS, passwordPolicy } from '../../gateway/auth/password.ts';
import type { Command } from './types.ts';

const EXIT_OK = 0;
const EXIT_REFUSED = 1;

/** Largest stdin we read for a password: enough for the policy's byte limit plus a newline, bounded. */
const STDIN_MAX_BYTES = 4096;

/**
 * Read a password from a stream (`--password-stdin`): the first line, without its line ending.
 * Throws StartupError when the stream is empty or larger than STDIN_MAX_BYTES.
 */
export async function readPasswordFrom(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    size += buf.length;
    if (size > STDIN_MAX_BYTES) throw new StartupError(`the password on stdin is longer than ${STDIN_MAX_BYTES} bytes`);
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line === '') throw new StartupError('no password on stdin', 'Pipe the password in, e.g. `printf %s "$PW" | telehealth admin create-user ... --password-stdin`.');
  return line;
}

interface TtyInput extends Readable {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/** Prompt on a terminal without echoing what is typed. Ctrl-C aborts. */
function promptHidden(input: TtyInput, output: Writable, prompt: string): Promise<string> {
  const setRaw = input.setRawMode?.bind(input);
  if (!setRaw) return Promise.reject(new StartupError('stdin is not a terminal; use --password-stdin'));
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err: Error | null) => {
      input.off('data', onData);
      setRaw(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (data: Buffer | string) => {
      for (const ch of typeof data === 'string' ? data : data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003') return finish(new StartupError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (Buffer.byteLength(value, 'utf8') <= PASSWORD_LIMITS.maxBytes) value += ch;
      }
      return undefined;
    };
    setRaw(true);
    input.resume();
    input.on('data', onData);
  });
}

export interface AdminIo {
  /** Where the password comes from (process.stdin in production). */
  readonly stdin: TtyInput;
}

function parseRole(value: string): StaffRole {
  const role = STAFF_ROLES.find((r) => r === value);
  if (!role) throw new StartupError(`--role must be one of ${STAFF_ROLES.join(', ')}`);
  return role;
}

/** The admin commands bound to `io` (tests pass their own stream). */
export function createAdminCommands(io: AdminIo): Command[] {
  const createUser: Command = {
    words: ['admin', 'create-user'],
    summary: 'create a staff user (e.g. the first admin)',
    help: `Usage: telehealth admin create-user --username <name> --role <role> --display-name <name> [--password-stdin]

Creates a staff account in the configured database (migrating it first, so a fresh DATA_DIR works).
The password is read from stdin with --password-stdin (first line), or prompted for without echo
when stdin is a terminal; it must meet the password policy (at least ${PASSWORD_LIMITS.minChars} characters, at most
${PASSWORD_LIMITS.maxBytes} bytes, not easily guessed, not built on the username or name). The user sets up an
authenticator app (TOTP) at first sign-in; sign-in is refused without it. Recorded in the audit
chain as user.create by system "cli". With PGlite, stop the running server first.

Options:
  --username <name>       3-64 characters: lower-case letters, digits, . _ - (case-insensitive)
  --role <role>           ${STAFF_ROLES.join(' | ')}
  --display-name <name>   the name shown to colleagues (1-128 characters)
  --password-stdin        read the password from stdin instead of prompting

Exit codes: 0 created, 1 refused (weak password, username taken), 2 usage or configuration problem.

Example:
  printf '%s' "$ADMIN_PASSWORD" | telehealth admin create-user --username ops-admin --role admin --display-name "Ops Admin" --password-stdin`,
    async run(ctx) {
      const { values } = parseArgs({
        args: [...ctx.argv],
        options: {
          username: { type: 'string' },
          role: { type: 'string' },
          'display-name': { type: 'string' },
          'password-stdin': { type: 'boolean', default: false },
        },
        strict: true,
        allowPositionals: false,
      });
      const { username: rawName, role: rawRole, 'display-name': displayName } = values;
      if (rawName === undefined || rawRole === undefined || displayName === undefined) {
        throw new StartupError('--username, --role and --display-name are required', 'Run `telehealth admin create-user --help`.');
      }
      const username = normalizeUsername(rawName);
      if (username === null) throw new StartupError('--username must be 3-64 characters: lower-case letters, digits, . _ - (starting with a letter or digit)');
      const role = parseRole(rawRole);
      const cfg = loadConfig(ctx.env);

      let password: string;
      if (values['password-stdin']) password = await readPasswordFrom(io.stdin);
      else if (io.stdin.isTTY) {
        password = await promptHidden(io.stdin, ctx.stderr, 'Password: ');
        if ((await promptHidden(io.stdin, ctx.stderr, 'Repeat password: ')) !== password) {
          ctx.stderr.write('The passwords do not match.\n');
          return EXIT_REFUSED;
        }
      } else throw new StartupError('stdin is not a terminal: pass --password-stdin and pipe the password in');

      const verdict = passwordPolicy.check(password, { username, displayName });
      if (!verdict.ok) {
        ctx.stderr.write(`The password was refused:\n${verdict.reasons.map((r) => `  - ${r}`).join('\n')}\n`);
        return EXIT_REFUSED;
      }
      const passwordHash = await hashPassword(password);

      const db = await openDatabase(cfg, 'telehealth-cli');
      try {
        await migrate(db);
        const users = createUserStore(db);
        const audit = createAuditLog(db);
        const user = await db.transaction(async (tx) => {
          const created = await users.createStaff({ username, displayName, role, passwordHash, createdBy: null }, tx);
          await audit.append(
            {
              actorType: ActorType.system,
              actorId: 'cli',
              action: AuditAction.userCreate,
              outcome: AuditOutcome.success,
              resourceType: 'user',
              resourceId: created.id,
              details: { role, kind: 'staff' },
            },
            tx,
          );
          return created;
        });
        ctx.stdout.write(
          `Created staff user ${user.username} (${user.role}), id ${user.id}.\n` +
            'Authenticator (TOTP) enrollment happens at their first sign-in; keep the recovery codes shown then.\n',
        );
        return EXIT_OK;
      } catch (err) {
        if (err instanceof AppError && (err.status === 409 || err.status === 400)) {
          const detail = err.fields?.map((f) => `${f.path}: ${f.message}`).join('; ');
          ctx.stderr.write(`${err.message}${detail ? ` (${detail})` : ''}.\n`);
          return EXIT_REFUSED;
        }
        throw err;
      } finally {
        await db.close();
      }
    },
  };
  return [createUser];
}

// A getter: touching process.stdin at import time would open the handle for every CLI command.
export const adminCommands: Command[] = createAdminCommands({
  get stdin() {
    return process.stdin;
  },
});
