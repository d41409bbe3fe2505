// `telehealth audit verify|export|checkpoint` run in-process against both engines: exit codes 0/1/2 and messages.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActorType, AuditAction, AuditOutcome, createAuditLog, hashRecord, type AuditRecord } from '../../core/audit/index.ts';
import { tamperSql } from '../../core/audit/test-fixtures/attacker.ts';
import { StartupError } from '../../core/errors.ts';
import { openPglite } from '../../core/db/pglite.ts';
import { openPostgres } from '../../core/db/postgres.ts';
import type { Db, DbKind } from '../../core/db/types.ts';
import { createPostgresDatabase, ENGINES } from '../../test/helpers/databases.ts';
import { auditCommands } from './audit.ts';
import { runCommand, type Ran } from './test-fixtures/run-command.ts';

describe.each(ENGINES)('telehealth audit commands on %s', (kind: DbKind) => {
  let dataDir: string;
  let env: Record<string, string>;
  let drop: () => Promise<void> = () => Promise.resolve();

  beforeEach(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'audit-cli-'));
    env = { DATA_DIR: dataDir };
    if (kind === 'postgres') {
      const created = await createPostgresDatabase();
      env['DATABASE_URL'] = created.url;
      drop = created.drop;
    }
  });
  afterEach(async () => {
    await drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const run = (argv: readonly string[], interactive = false): Promise<Ran> => runCommand(auditCommands, argv, env, interactive);

  /** The same database the commands use, opened directly (the CLI has closed it by then). */
  async function direct<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const db = env['DATABASE_URL'] ? await openPostgres({ url: env['DATABASE_URL'] }) : await openPglite({ dataDir: path.join(dataDir, 'pglite') });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  it('checkpoints, verifies, exports, and reports tampering with exit 1 naming the entry', async () => {
    const cp = await run(['audit', 'checkpoint']);
    expect(cp).toMatchObject({ code: 0, stdout: expect.stringMatching(/^signed checkpoint at entry 1 /) as unknown });
    const keyFile = path.join(dataDir, 'keys', 'audit-ed25519.pem');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    await direct(async (db) => {
      const log = createAuditLog(db);
      for (let i = 0; i < 5; i++) {
        await log.append({ actorType: ActorType.user, actorId: `usr_${i % 2}`, action: AuditAction.patientView, outcome: AuditOutcome.success, patientId: 'pat_7' });
      }
    });

    const ok = await run(['audit', 'verify']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/audit chain intact: 6 entries, head entry 6 .*1 signed checkpoint\(s\) verified/);

    const tty = await run(['audit', 'verify'], true);
    expect(tty.code).toBe(0);
    expect(tty.stderr).toMatch(/^\rverifying \[#{30}\] 100% 7\/7/);

    const json = await run(['audit', 'verify', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, checked: 8, checkpoints: 1, head: { seq: 8 } });

    const exp = await run(['audit', 'export', '--from', '2020-01-01', '--to', '2100-01-01T00:00:00Z', '--actor', 'usr_1']);
    expect(exp.code).toBe(0);
    const lines = exp.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    expect(lines.map((l) => l.actor_id)).toEqual(['usr_1', 'usr_1']);
    for (const l of lines) expect(hashRecord(l)).toBe(l.hash);
    expect(exp.stderr).toBe('exported 2 audit entries\n');

    const outFile = path.join(dataDir, 'patient.jsonl');
    expect((await run(['audit', 'export', '--from', '2020-01-01', '--to', '2100-01-01', '--patient', 'pat_7', '--out', outFile])).code).toBe(0);
    expect(readFileSync(outFile, 'utf8').trimEnd().split('\n')).toHaveLength(5);
    expect(statSync(outFile).mode & 0o777).toBe(0o600);
    await expect(run(['audit', 'export', '--from', '2020-01-01', '--to', '2100-01-01', '--out', outFile])).rejects.toThrow(StartupError);

    await direct((db) => tamperSql(db, "UPDATE audit_log SET patient_id = 'pat_8' WHERE seq = 4"));
    const broken = await run(['audit', 'verify']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^audit chain BROKEN at entry 4 \(hash_mismatch\): entry 4 was changed after it was written/);
    const brokenJson = await run(['audit', 'verify', '--json']);
    expect(brokenJson.code).toBe(1);
    expect(JSON.parse(brokenJson.stdout)).toMatchObject({ ok: false, firstBad: { seq: 4, reason: 'hash_mismatch' } });

    // Every verify and export run is itself in the chain, with its outcome.
    const audited = await direct((db) =>
      db.query<{ action: string; outcome: string; actor_id: string; patient_id: string | null }>(
        "SELECT action, outcome, actor_id, patient_id FROM audit_log WHERE action IN ('audit.verify', 'audit.export', 'audit.checkpoint') ORDER BY seq",
      ),
    );
    expect(audited.map((r) => `${r.action}:${r.outcome}`)).toEqual([
      'audit.checkpoint:success', 'audit.verify:success', 'audit.verify:success', 'audit.verify:success', 'audit.export:success', 'audit.export:success',
      'audit.export:failure', 'audit.verify:failure', 'audit.verify:failure',
    ]);
    expect(audited.every((r) => r.actor_id === 'cli')).toBe(true);
    expect(audited[5]?.patient_id).toBe('pat_7');
  });

  it('answers usage errors with a message and exit 2, before touching the database', async () => {
    const bogus = await run(['audit', 'verify', '--bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/Unknown option '--bogus'[\s\S]*telehealth audit verify --help/);
    expect((await run(['audit', 'checkpoint', 'extra'])).code).toBe(2);
    const noFrom = await run(['audit', 'export', '--to', '2026-01-01']);
    expect(noFrom).toMatchObject({ code: 2, stderr: expect.stringMatching(/--from is required/) as unknown });
    const localTime = await run(['audit', 'export', '--from', '2026-01-01T08:00', '--to', '2026-01-02']);
    expect(localTime.stderr).toMatch(/--from must be an ISO 8601 date/);
    const backwards = await run(['audit', 'export', '--from', '2026-02-01', '--to', '2026-01-01']);
    expect(backwards.stderr).toMatch(/--from must be before --to/);
    const badId = await run(['audit', 'export', '--from', '2026-01-01', '--to', '2026-02-01', '--patient', 'Jane Doe']);
    expect(badId).toMatchObject({ code: 2, stderr: expect.stringMatching(/--patient must be an id/) as unknown });
    expect(existsSync(path.join(dataDir, 'pglite'))).toBe(false);
    for (const c of auditCommands) expect(c.help).toMatch(/^Usage: telehealth audit /);
  });

  it('fails with a configuration error when checkpoints exist but the signing key is gone', async () => {
    expect((await run(['audit', 'checkpoint'])).code).toBe(0);
    rmSync(path.join(dataDir, 'keys'), { recursive: true });
    await expect(run(['audit', 'verify'])).rejects.toThrow(/no audit signing key/);
  });
});
