import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { loadMigrations, migrate } from './migrate.ts';
import { openPglite } from './pglite.ts';

describe.each(ENGINES)('storage on %s', (kind) => {
  const openDb = testDbPerTest(kind);

  it('normalizes types the same way on both engines', async () => {
    const t = await openDb();
    const [row] = await t.db.query<{ n: number; at: Date; j: { a: number[] }; b: Buffer; t: string }>(
      `SELECT 9007199254740991::int8 AS n, '2026-01-02T03:04:05.678Z'::timestamptz AS at, '{"a":[1]}'::jsonb AS j, '\\x0102ff'::bytea AS b, 'x' AS t`,
    );
    expect(row?.n).toBe(9007199254740991);
    expect(row?.at).toBeInstanceOf(Date);
    expect(row?.at.toISOString()).toBe('2026-01-02T03:04:05.678Z');
    expect(row?.j).toEqual({ a: [1] });
    expect(Buffer.isBuffer(row?.b)).toBe(true);
    expect([...(row?.b ?? [])]).toEqual([1, 2, 255]);
  });

  it('rolls back a failed transaction entirely', async () => {
    const t = await openDb();
    await t.db.exec('CREATE TABLE t_tx (id int PRIMARY KEY)');
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO t_tx VALUES (1)');
        await tx.query('INSERT INTO t_tx VALUES (1)'); // duplicate key
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await t.db.query('SELECT * FROM t_tx')).toEqual([]);
    // and the engine still works after the rollback
    await t.db.transaction((tx) => tx.query('INSERT INTO t_tx VALUES (2)'));
    expect(await t.db.query('SELECT id FROM t_tx')).toEqual([{ id: 2 }]);
  });

  it('keeps pipelined statements inside the transaction: a caller failing while they wait rolls them back too', async () => {
    const t = await openDb();
    await t.db.exec('CREATE TABLE t_pipe (id int)');
    const inFlight: Promise<unknown>[] = [];
    await expect(
      t.db.transaction((tx) => {
        // Issued without waiting for each other (pipelined), then the caller gives up at once.
        inFlight.push(tx.query('INSERT INTO t_pipe VALUES (1)'), tx.query('INSERT INTO t_pipe VALUES (2)'));
        return Promise.reject(new Error('caller gave up'));
      }),
    ).rejects.toThrow('caller gave up');
    await Promise.allSettled(inFlight);
    expect(await t.db.query('SELECT id FROM t_pipe')).toEqual([]);
  });

  it('reports database errors with their PostgreSQL fields (SQLSTATE, constraint)', async () => {
    const t = await openDb();
    await t.db.exec('CREATE TABLE t_err (id int CONSTRAINT t_err_pk PRIMARY KEY)');
    await t.db.query('INSERT INTO t_err VALUES (1)');
    const err: unknown = await t.db.query('INSERT INTO t_err VALUES (1)').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: '23505', constraint: 't_err_pk', message: expect.stringMatching(/duplicate key/) as unknown });
  });

  it('applies migrations once, in order, and is idempotent', async () => {
    const t = await openDb({ migrated: false });
    const all = loadMigrations();
    const first = await migrate(t.db);
    expect(first.applied).toEqual(all.map((m) => m.version));
    const again = await migrate(t.db);
    expect(again.applied).toEqual([]);
    const rows = await t.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(all.map((m) => m.version));
  });

  it('refuses to start when an applied migration was edited', async () => {
    const t = await openDb({ migrated: false });
    const dir = mkdtempSync(path.join(tmpdir(), 'mig-'));
    try {
      writeFileSync(path.join(dir, '0001_one.sql'), 'CREATE TABLE m_one (id int);');
      await migrate(t.db, loadMigrations(dir));
      writeFileSync(path.join(dir, '0001_one.sql'), 'CREATE TABLE m_one (id bigint);');
      await expect(migrate(t.db, loadMigrations(dir))).rejects.toThrow(/changed after it was applied/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves no half-applied schema when a migration fails', async () => {
    const t = await openDb({ migrated: false });
    const dir = mkdtempSync(path.join(tmpdir(), 'mig-'));
    try {
      writeFileSync(path.join(dir, '0001_ok.sql'), 'CREATE TABLE m_ok (id int);');
      writeFileSync(path.join(dir, '0002_bad.sql'), 'CREATE TABLE m_bad (id int); SELECT no_such_function();');
      await expect(migrate(t.db, loadMigrations(dir))).rejects.toThrow(/no_such_function/);
      const tables = await t.db.query(`SELECT to_regclass('m_ok') AS ok, to_regclass('m_bad') AS bad, to_regclass('schema_migrations') AS sm`);
      expect(tables).toEqual([{ ok: null, bad: null, sm: null }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PGlite thread', () => {
  it('runs statements off the event loop: timers keep firing during a long query', async () => {
    const db = await openPglite();
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const started = performance.now();
      await db.query('SELECT count(*) FROM generate_series(1, 3000000)');
      const elapsed = performance.now() - started;
      clearInterval(timer);
      expect(elapsed).toBeGreaterThan(50);
      // In-thread WASM would hold the loop for the whole query: at most one tick after it.
      expect(ticks).toBeGreaterThan(3);
    } finally {
      await db.close();
    }
  });

  it('starts an in-memory database from a dumped template, a copy independent of its source', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pglite-template-'));
    const file = path.join(dir, 'template.tar');
    const source = await openPglite();
    try {
      await source.exec(`CREATE TABLE seed (v text); INSERT INTO seed VALUES ('from the template')`);
      await source.dumpTo(file);
      const copy = await openPglite({ template: file });
      try {
        expect(await copy.query('SELECT v FROM seed')).toEqual([{ v: 'from the template' }]);
        await copy.exec(`INSERT INTO seed VALUES ('only in the copy')`);
      } finally {
        await copy.close();
      }
      expect(await source.query('SELECT count(*)::int AS n FROM seed')).toEqual([{ n: 1 }]);
      await expect(openPglite({ template: file, dataDir: dir })).rejects.toThrow(/in-memory databases only/);
    } finally {
      await source.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closes by letting the thread end itself, never by terminating it from outside', async () => {
    // Terminating a thread that holds WebAssembly state has crashed whole test processes (SIGSEGV).
    const terminate = vi.spyOn(Worker.prototype, 'terminate');
    try {
      const db = await openPglite();
      await db.query('SELECT 1');
      await db.close();
      expect(terminate).not.toHaveBeenCalled();
    } finally {
      terminate.mockRestore();
    }
  });

  it('answers every call after close with a clear error', async () => {
    const db = await openPglite();
    await db.close();
    await expect(db.query('SELECT 1')).rejects.toThrow(/embedded database thread stopped/);
  });

  it('does not keep a process alive that forgot to close it', () => {
    const script = `import { openPglite } from ${JSON.stringify(new URL('./pglite.ts', import.meta.url).href)};
const db = await openPglite(); const [r] = await db.query('SELECT 41 + 1 AS n'); console.log(r.n);`;
    const dir = mkdtempSync(path.join(tmpdir(), 'pglite-unclosed-'));
    try {
      const file = path.join(dir, 'forgot-close.mjs');
      writeFileSync(file, script);
      const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
      expect(out.trim()).toBe('42');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PGlite data dir', () => {
  it('persists across restarts and refuses a second opener while locked', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pglite-'));
    try {
      const a = await openPglite({ dataDir: dir });
      await a.exec('CREATE TABLE keep (v text); INSERT INTO keep VALUES ($$kept$$)');
      await expect(openPglite({ dataDir: dir })).rejects.toThrow(/in use by another telehealth process|in use/);
      await a.close();
      await a.close(); // idempotent
      const b = await openPglite({ dataDir: dir });
      expect(await b.query('SELECT v FROM keep')).toEqual([{ v: 'kept' }]);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes over a lock left by a dead process', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pglite-'));
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, '.telehealth.lock'), '999999999');
      const a = await openPglite({ dataDir: dir });
      await a.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
