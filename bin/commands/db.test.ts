import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../../test/helpers/databases.ts';
import { runCli } from '../cli.ts';
import { openPostgres } from '../../core/db/postgres.ts';

function capture() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { stream: out, text: () => text };
}

const drops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const d of drops.splice(0)) await d();
});

describe('telehealth db migrate', () => {
  it('applies pending migrations once, audits it, and then reports up to date', async () => {
    const { url, drop } = await createPostgresDatabase();
    drops.push(drop);
    const run = async () => {
      const stdout = capture();
      const stderr = capture();
      const code = await runCli({ argv: ['db', 'migrate'], stdout: stdout.stream, stderr: stderr.stream, env: { DATABASE_URL: url }, interactive: false });
      return { code, out: stdout.text(), err: stderr.text() };
    };
    const first = await run();
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(first.out).toMatch(/^applied \d+ migration\(s\)/);
    const second = await run();
    expect(second.out).toMatch(/^database is up to date/);
    const db = await openPostgres({ url });
    const rows = await db.query<{ action: string; actor_id: string }>('SELECT action, actor_id FROM audit_log');
    await db.close();
    expect(rows).toEqual([{ action: 'system.db.migrate', actor_id: 'cli' }]);
  });

  it('rejects unknown options with exit code 2', async () => {
    const stderr = capture();
    const code = await runCli({ argv: ['db', 'migrate', '--force'], stdout: capture().stream, stderr: stderr.stream, env: {}, interactive: false });
    expect(code).toBe(2);
    expect(stderr.text()).toMatch(/Unknown option '--force'/);
  });
});
