/** PostgreSQL engine over `pg`'s pool. Type parsing is set per pool, never globally. */
import pg from 'pg';
import { INT8_OID, parseSafeInt8 } from './int8.ts';
import type { Db, Sql } from './types.ts';


const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? parseSafeInt8 : (pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown)) as typeof pg.types.getTypeParser,
};

export interface PostgresOptions {
  readonly url: string;
  readonly poolMax?: number;
  readonly applicationName?: string;
}

export async function openPostgres(opts: PostgresOptions): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolMax ?? 10,
    application_name: opts.applicationName ?? 'telehealth',
    types,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Fail fast with a clear error when the server is unreachable.
  const probe = await pool.connect();
  probe.release();

  const wrap = (client: pg.PoolClient | pg.Pool): Sql => ({
    async query<R extends object>(text: string, params?: readonly unknown[]) {
      const res = await client.query<R>(text, params as unknown[] | undefined);
      return res.rows;
    },
    async exec(text: string) {
      await client.query(text);
    },
  });

  /**
   * A transaction's statements on its one client, strictly in the order issued — also when a
   * caller sends the next before the previous answered (pipelining saves round trips). pg 8
   * would queue them itself but deprecates that; this chain does not rely on it.
   */
  const serial = (client: pg.PoolClient): Sql => {
    let tail: Promise<unknown> = Promise.resolve();
    const run = <T>(step: () => Promise<T>): Promise<T> => {
      // The next statement runs after this one whatever its outcome; the outcome goes to its caller.
      const next = tail.then(step, step);
      tail = next.then(
        () => undefined,
        () => undefined,
      );
      return next;
    };
    return {
      query: <R extends object>(text: string, params?: readonly unknown[]) => run(async () => (await client.query<R>(text, params as unknown[] | undefined)).rows),
      exec: (text: string) =>
        run(async () => {
          await client.query(text);
        }),
    };
  };

  let closed: Promise<void> | undefined;
  return {
    kind: 'postgres',
    ...wrap(pool),
    async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // BEGIN, the caller's statements and COMMIT/ROLLBACK share one chain: a ROLLBACK issued
      // while a pipelined statement still waits runs after it, never before (which would let
      // that statement run outside the transaction).
      const tx = serial(client);
      let broken: Error | undefined;
      try {
        await tx.exec('BEGIN');
        const out = await fn(tx);
        await tx.exec('COMMIT');
        return out;
      } catch (err) {
        try {
          await tx.exec('ROLLBACK');
        } catch (rollbackErr) {
          // The connection is unusable: release(err) destroys it instead of pooling it.
          broken = rollbackErr instanceof Error ? rollbackErr : new Error('rollback failed');
        }
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}
