/**
 * PostgreSQL engine over `pg`'s pool. Type parsing is set per pool, never globally. A lost or
 * refused connection (server restart, failover, network) surfaces as AppError 503
 * `service_unavailable` with Retry-After, never as an unknown 500, and never crashes the process:
 * idle clients are covered by the pool's error handler, a client held by a transaction by its own.
 */
import pg from 'pg';
import { AppError, ErrorCode } from '../errors.ts';
import { INT8_OID, parseSafeInt8 } from './int8.ts';
import type { Db, Sql } from './types.ts';

/** SQLSTATE classes and codes that mean "the server went away", not "your statement failed". */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53300)/;
const UNAVAILABLE_NODE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i;

function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE.has(code))) return true;
  return UNAVAILABLE_MESSAGE.test(err.message);
}

/** Connection-level failures become a typed 503; statement errors (constraints, syntax) pass through. */
export function asDbError(err: unknown): unknown {
  return isUnavailable(err) ? new AppError(503, ErrorCode.unavailable, 'The database is unavailable; try again shortly', { cause: err, retryAfterSec: 2 }) : err;
}

const typed = async <T>(op: () => Promise<T>): Promise<T> => {
  try {
    return await op();
  } catch (err) {
    throw asDbError(err);
  }
};


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
    query: <R extends object>(text: string, params?: readonly unknown[]) => typed(async () => (await client.query<R>(text, params as unknown[] | undefined)).rows),
    exec: (text: string) =>
      typed(async () => {
        await client.query(text);
      }),
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
      query: <R extends object>(text: string, params?: readonly unknown[]) => run(() => typed(async () => (await client.query<R>(text, params as unknown[] | undefined)).rows)),
      exec: (text: string) =>
        run(() =>
          typed(async () => {
            await client.query(text);
          }),
        ),
    };
  };

  let closed: Promise<void> | undefined;
  return {
    kind: 'postgres',
    ...wrap(pool),
    async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
      const client = await typed(() => pool.connect());
      // BEGIN, the caller's statements and COMMIT/ROLLBACK share one chain: a ROLLBACK issued
      // while a pipelined statement still waits runs after it, never before (which would let
      // that statement run outside the transaction).
      const tx = serial(client);
      let broken: Error | undefined;
      // While we hold the client the pool does not listen to it: a connection dropped between
      // statements would be an unhandled 'error' event (a crash). Keep it, and destroy the client.
      const onError = (err: Error): void => {
        broken ??= err;
      };
      client.on('error', onError);
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
        client.off('error', onError);
        client.release(broken);
      }
    },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}
