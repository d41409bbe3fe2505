/**
 * The PostgreSQL engine when the server goes away: a connection killed under a transaction (as in
 * a restart or failover) neither crashes the process with an unhandled 'error' event nor answers
 * as an unknown error — the transaction fails with AppError 503 `service_unavailable` and
 * Retry-After, the broken client is dropped, and the next statement works on a fresh one.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { testDbPerTest } from '../../test/helpers/databases.ts';
import { asDbError } from './postgres.ts';

describe('PostgreSQL connection loss', () => {
  const openDb = testDbPerTest('postgres');

  it('a connection killed between statements of a transaction fails it with a typed 503, and the pool recovers', async () => {
    const t = await openDb();
    const failed = await t.db
      .transaction(async (tx) => {
        const [me] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        // Another connection ends ours while the transaction holds it, between two statements.
        await t.db.query('SELECT pg_terminate_backend($1)', [me?.pid]);
        await new Promise((r) => setTimeout(r, 200));
        await tx.query('SELECT 1');
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(failed).toBeInstanceOf(AppError);
    expect(failed).toMatchObject({ status: 503, code: 'service_unavailable', retryAfterSec: 2 });
    // The pool threw the dead client away: the next statements run.
    for (let i = 0; i < 12; i++) expect(await t.db.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('maps only connection failures to 503; statement errors pass through unchanged', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const terminated = new Error('Connection terminated unexpectedly');
    for (const err of [refused, shutdown, terminated]) expect(asDbError(err)).toMatchObject({ status: 503, code: 'service_unavailable' });
    const unique = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    expect(asDbError(unique)).toBe(unique);
  });
});
