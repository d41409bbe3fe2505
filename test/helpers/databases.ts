/**
 * Per-test databases on both engines. `engines()` feeds `describe.each` so a storage suite runs
 * unchanged against PGlite (in memory) and PostgreSQL (a fresh database per call, dropped after).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterEach, inject } from 'vitest';
import { migrate } from '../../core/db/migrate.ts';
import { openPglite } from '../../core/db/pglite.ts';
import { openPostgres } from '../../core/db/postgres.ts';
import type { Db, DbKind } from '../../core/db/types.ts';

export interface TestDb {
  readonly db: Db;
  /** Connection URL for other processes (PostgreSQL only). */
  readonly url: string | undefined;
  /** Close and drop. Idempotent. */
  dispose(): Promise<void>;
}

/** Create an empty PostgreSQL database on the test cluster and return its URL and a dropper. */
export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = inject('postgresUrl');
  const name = `test_${randomUUID().replaceAll('-', '')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: u.toString(),
    drop() {
      dropped ??= (async () => {
        const d = new pg.Client({ connectionString: admin });
        await d.connect();
        await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await d.end();
      })();
      return dropped;
    },
  };
}

export async function openTestDb(kind: DbKind, opts: { migrated?: boolean } = {}): Promise<TestDb> {
  let db: Db;
  let url: string | undefined;
  let drop: () => Promise<void> = () => Promise.resolve();
  const migrated = opts.migrated ?? true;
  if (kind === 'pglite') {
    // A migrated database starts from global setup's migrated cluster; migrate() below then only confirms it.
    db = await openPglite(migrated ? { template: inject('pgliteTemplate') } : {});
  } else {
    const created = await createPostgresDatabase();
    url = created.url;
    drop = created.drop;
    db = await openPostgres({ url, poolMax: 8 });
  }
  if (migrated) await migrate(db);
  let disposed: Promise<void> | undefined;
  return {
    db,
    url,
    dispose() {
      disposed ??= db.close().then(drop);
      return disposed;
    },
  };
}

export const ENGINES: readonly DbKind[] = ['pglite', 'postgres'];

/**
 * For a `describe.each(ENGINES)` block: returns an opener whose databases are disposed after each
 * test, so suites need no `let t` + `afterEach` of their own.
 */
export function testDbPerTest(kind: DbKind): (opts?: { migrated?: boolean }) => Promise<TestDb> {
  const open: TestDb[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) await t.dispose();
  });
  return async (opts) => {
    const t = await openTestDb(kind, opts);
    open.push(t);
    return t;
  };
}

/** `db` with its statements counted (outside transactions), to check that callers batch their reads and writes. */
export function countingDb(db: Db): { readonly db: Db; readonly statements: () => number } {
  let statements = 0;
  const counted = new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return <R extends object>(text: string, params?: readonly unknown[]) => {
          statements++;
          return target.query<R>(text, params);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db: counted, statements: () => statements };
}
