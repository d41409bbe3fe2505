import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { openPglite } from '../../core/db/pglite.ts';
import { verifyPassword } from '../../gateway/auth/password.ts';
import { createAdminCommands, readPasswordFrom } from './admin.ts';
import type { Command } from './types.ts';

const STRONG = 'violet harbor quantum kettle';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDataDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'telehealth-admin-'));
  dirs.push(d);
  return d;
}

async function run(dataDir: string, argv: string[], stdinText: string | null, isTTY = false) {
  const stdin = Object.assign(Readable.from(stdinText === null ? [] : [Buffer.from(stdinText)]), { isTTY });
  const [cmd] = createAdminCommands({ stdin }) as [Command];
  const out = capture();
  const err = capture();
  let code: number | Error;
  try {
    code = await cmd.run({ argv, stdout: out.stream, stderr: err.stream, env: { APP_ENV: 'test', DATA_DIR: dataDir }, interactive: false });
  } catch (e) {
    code = e as Error;
  }
  return { code, out: out.text(), err: err.text() };
}

const args = (username: string) => ['--username', username, '--role', 'admin', '--display-name', 'Ops Admin', '--password-stdin'];

describe('readPasswordFrom', () => {
  it('returns the first line without its line ending', async () => {
    expect(await readPasswordFrom(Readable.from([Buffer.from('pass word here\r\n')]))).toBe('pass word here');
    expect(await readPasswordFrom(Readable.from([Buffer.from('a'), Buffer.from('b\nignored')]))).toBe('ab');
  });
  it('refuses empty and oversized input', async () => {
    await expect(readPasswordFrom(Readable.from([]))).rejects.toThrow(/no password/);
    await expect(readPasswordFrom(Readable.from([Buffer.alloc(5000, 97)]))).rejects.toThrow(/longer than/);
  });
});

describe('telehealth admin create-user', () => {
  it('creates the first admin in a fresh data dir, hashes the password and audits user.create as cli', async () => {
    const dataDir = tempDataDir();
    const res = await run(dataDir, args('Ops-Admin'), `${STRONG}\n`);
    expect(res).toMatchObject({ code: 0, err: '' });
    expect(res.out).toMatch(/Created staff user ops-admin \(admin\), id [0-9a-f-]{36}/);
    expect(res.out).toMatch(/first sign-in/);
    expect(res.out).not.toContain(STRONG);
    const db = await openPglite({ dataDir: path.join(dataDir, 'pglite') });
    try {
      const [user] = await db.query<{ id: string; username: string; role: string; password_hash: string; mfa_enrolled_at: Date | null }>(
        'SELECT id, username, role, password_hash, mfa_enrolled_at FROM users',
      );
      expect(user).toMatchObject({ username: 'ops-admin', role: 'admin', mfa_enrolled_at: null });
      expect(await verifyPassword(STRONG, user?.password_hash ?? '')).toBe(true);
      const audit = await db.query<{ action: string; actor_type: string; actor_id: string; resource_id: string; details: unknown }>(
        "SELECT action, actor_type, actor_id, resource_id, details FROM audit_log WHERE action = 'user.create'",
      );
      expect(audit).toEqual([{ action: 'user.create', actor_type: 'system', actor_id: 'cli', resource_id: user?.id, details: { role: 'admin', kind: 'staff' } }]);
    } finally {
      await db.close();
    }
  });

  it('refuses a weak password with reasons and creates nothing', async () => {
    const dataDir = tempDataDir();
    const res = await run(dataDir, args('weakling'), 'Password1234\n');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/password was refused/);
    expect(res.err).toMatch(/too easy to guess/);
    expect(res.err).not.toContain('Password1234');
    const again = await run(dataDir, args('weakling'), 'weakling-weakling\n');
    expect(again.err).toMatch(/username or name/);
  });

  it('refuses a duplicate username', async () => {
    const dataDir = tempDataDir();
    expect((await run(dataDir, args('dup'), STRONG)).code).toBe(0);
    const res = await run(dataDir, args('DUP'), STRONG);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/already in use/);
  });

  it('reports usage problems: missing options, bad role or name, no stdin password, no terminal', async () => {
    const dataDir = tempDataDir();
    await expect(run(dataDir, ['--username', 'x1x'], STRONG).then((r) => r.code)).resolves.toMatchObject({ message: expect.stringMatching(/required/) as unknown });
    const badRole = await run(dataDir, ['--username', 'abc', '--role', 'root', '--display-name', 'A', '--password-stdin'], STRONG);
    expect(badRole.code).toMatchObject({ name: 'StartupError', message: expect.stringMatching(/--role must be one of/) as unknown });
    const badName = await run(dataDir, ['--username', 'a b', '--role', 'admin', '--display-name', 'A', '--password-stdin'], STRONG);
    expect(badName.code).toMatchObject({ message: expect.stringMatching(/--username must be/) as unknown });
    const empty = await run(dataDir, args('nopw'), '');
    expect(empty.code).toMatchObject({ message: 'no password on stdin' });
    const notTty = await run(dataDir, args('nopw').slice(0, -1), STRONG, false);
    expect(notTty.code).toMatchObject({ message: expect.stringMatching(/not a terminal/) as unknown });
    const unknown = await run(dataDir, [...args('x1x'), '--password', 'oops'], null);
    expect(unknown.code).toMatchObject({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
  });
});
