/**
 * The data-access contract. One interface, two engines (PGlite in-process, PostgreSQL via pg),
 * identical results: int8 → number, timestamptz → Date, jsonb → parsed value, bytea → Buffer.
 * Code above this layer writes plain PostgreSQL with $1 placeholders and never knows which engine runs.
 */

export interface Sql {
  /** Run one statement and return its rows. */
  query<R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Run several statements separated by `;`, without parameters (migrations, DDL). */
  exec(text: string): Promise<void>;
}

export type DbKind = 'pglite' | 'postgres';

export interface Db extends Sql {
  readonly kind: DbKind;
  /** Run `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Idempotent. */
  close(): Promise<void>;
}
