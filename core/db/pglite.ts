/**
 * Embedded PostgreSQL (PGlite, WASM, in-process). Single-process by nature: the data dir is
 * guarded by a lock file so a second process (the CLI while `npm start` runs) gets a clear
 * refusal instead of corrupting the database.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { acquireDirLock, type DirLock } from './dir-lock.ts';
import type { Db, Sql } from './types.ts';

const INT8 = 20;
const BYTEA = 17;

const parsers = {
  [INT8]: (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new RangeError('int8 value exceeds Number.MAX_SAFE_INTEGER');
    return n;
  },
  // PostgreSQL's text form of bytea is \x followed by hex; match pg, which yields a Buffer.
  [BYTEA]: (v: string): Buffer => Buffer.from(v.startsWith('\\x') ? v.slice(2) : v, 'hex'),
};

export interface PgliteOptions {
  /** Directory for a persistent database; omitted = in memory (tests). */
  readonly dataDir?: string;
}

export async function openPglite(opts: PgliteOptions = {}): Promise<Db> {
  let lock: DirLock | undefined;
  if (opts.dataDir !== undefined) {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    lock = acquireDirLock(opts.dataDir, 'PGlite database');
  }
  let pg: PGlite;
  try {
    pg = await PGlite.create(opts.dataDir === undefined ? { parsers } : { dataDir: opts.dataDir, parsers });
  } catch (err) {
    lock?.release();
    throw err;
  }

  const wrap = (q: Pick<PGlite, 'query' | 'exec'>): Sql => ({
    async query<R extends object>(text: string, params?: readonly unknown[]) {
      const res = await q.query<R>(text, params as unknown[] | undefined);
      return res.rows;
    },
    async exec(text: string) {
      await q.exec(text);
    },
  });

  let closed: Promise<void> | undefined;
  return {
    kind: 'pglite',
    ...wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    close() {
      closed ??= pg.close().finally(() => lock?.release());
      return closed;
    },
  };
}
