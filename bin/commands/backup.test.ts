// `telehealth backup create|restore|verify` run in-process: usage errors exit 2, refusals exit 1 with a
// message that says what to do, help names the keys to keep, and a PGlite data dir in use is refused.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StartupError } from '../../core/errors.ts';
import { createPostgresDatabase } from '../../test/helpers/databases.ts';
import { runCli } from '../cli.ts';
import { backupCommands } from './backup.ts';
import { dbCommands } from './db.ts';
import { runCommand, type Ran } from './test-fixtures/run-command.ts';

let dir: string;
let env: Record<string, string>;
let drop: () => Promise<void> = () => Promise.resolve();

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'backup-cli-'));
  const created = await createPostgresDatabase();
  drop = created.drop;
  env = { APP_ENV: 'test', DATA_DIR: dir, DATABASE_URL: created.url };
});
afterEach(async () => {
  await drop();
  rmSync(dir, { recursive: true, force: true });
});

const run = (argv: readonly string[], e: Record<string, string> = env): Promise<Ran> => runCommand(backupCommands, argv, e);

describe('telehealth backup commands', () => {
  it('exits 2 on usage errors, pointing at --help', async () => {
    expect(await run(['backup', 'create'])).toMatchObject({ code: 2, stderr: 'telehealth backup create: --out is required\nRun `telehealth backup create --help`.\n' });
    expect(await run(['backup', 'create', '--out', 'x', '--bogus'])).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--bogus'") as unknown });
    expect(await run(['backup', 'restore', '--in', 'x'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--key-file is required') as unknown });
    expect(await run(['backup', 'verify', '--key-file', 'k'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--in is required') as unknown });
  });

  it('documents that the backup key and the master key must both be kept, apart', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const code = await runCli({ argv: ['backup', 'restore', '--help'], stdout: out, stderr: new PassThrough(), env, interactive: false });
    expect(code).toBe(0);
    expect(text).toContain('Usage: telehealth backup restore --in <file> --key-file <file>');
    expect(text).toMatch(/backup key file[\s\S]*master key[\s\S]*Neither is in the backup/);
  });

  it('creates a 0600 backup and key, never overwrites, and refuses a missing or wrong key file with exit 1', async () => {
    const file = path.join(dir, 'b.thbk');
    expect(await run(['backup', 'create', '--out', file])).toMatchObject({ code: 1, stderr: expect.stringContaining('the database has no schema to back up') as unknown });
    expect(existsSync(file) || existsSync(`${file}.key`)).toBe(false);
    await runCommand(dbCommands, ['db', 'migrate'], env);
    const made = await run(['backup', 'create', '--out', file]);
    expect(made.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}.key`).mode & 0o777).toBe(0o600);
    expect(made.stderr).toContain('Keep the backup key and the master key apart from the backup');

    const exists = await run(['backup', 'create', '--out', file, '--key-file', path.join(dir, 'new.key')]);
    expect(exists).toMatchObject({ code: 1, stderr: expect.stringContaining(`${file} already exists`) as unknown });
    expect(existsSync(path.join(dir, 'new.key'))).toBe(false); // no key left behind for a backup that was not made

    // Reusing a key file works; each backup still opens only with it.
    const second = path.join(dir, 'c.thbk');
    expect((await run(['backup', 'create', '--out', second, '--key-file', `${file}.key`])).code).toBe(0);
    expect(await run(['backup', 'verify', '--in', second, '--key-file', `${file}.key`])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^backup intact: \d+ rows/) as unknown });

    expect(await run(['backup', 'verify', '--in', file, '--key-file', path.join(dir, 'nope.key')])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('there is no backup key file at') as unknown,
    });
    const loose = path.join(dir, 'loose.key');
    writeFileSync(loose, 'thbk1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n', { mode: 0o644 });
    expect(await run(['backup', 'verify', '--in', file, '--key-file', loose])).toMatchObject({ code: 1, stderr: expect.stringContaining('accessible by other users') as unknown });
    expect(await run(['backup', 'verify', '--in', path.join(dir, 'missing.thbk'), '--key-file', `${file}.key`])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('cannot read') as unknown,
    });
  });

  it('respects the PGlite data-dir lock: a data dir in use is refused before anything is read', async () => {
    const pgDir = path.join(dir, 'pglite');
    mkdirSync(pgDir, { recursive: true });
    writeFileSync(path.join(pgDir, '.telehealth.lock'), String(process.pid));
    const pgliteEnv = { APP_ENV: 'test', DATA_DIR: dir };
    await expect(run(['backup', 'create', '--out', path.join(dir, 'x.thbk')], pgliteEnv)).rejects.toThrow(StartupError);
    expect(existsSync(path.join(dir, 'x.thbk'))).toBe(false);
  });
});
