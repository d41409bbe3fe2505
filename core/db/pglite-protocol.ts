/**
 * Messages between the gateway thread and the PGlite thread (core/db/pglite.ts ↔
 * core/db/pglite-thread.ts). Plain structured-cloneable data; every request carries an id its
 * reply echoes. `tx` 0 means "outside a transaction"; otherwise it is a transaction id the
 * gateway side chose. A transaction costs no round trip of its own to open: its first statement
 * carries `begin: true` and the thread opens the transaction before running it (every round trip
 * while a transaction is open keeps every other statement waiting, PGlite being one connection).
 * Statements of one transaction run in the order they were sent, even when the caller pipelines
 * them (sends the next before the previous answered); `end` runs after all of them.
 */

export type Request =
  | { readonly id: number; readonly op: 'query'; readonly tx: number; readonly begin: boolean; readonly text: string; readonly params: readonly unknown[] | undefined }
  | { readonly id: number; readonly op: 'exec'; readonly tx: number; readonly begin: boolean; readonly text: string }
  | { readonly id: number; readonly op: 'end'; readonly tx: number; readonly commit: boolean }
  | { readonly id: number; readonly op: 'dump' }
  | { readonly id: number; readonly op: 'close' };

/** The fields of a database error worth carrying across (PostgreSQL's error report fields). */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, string>>;
}

export type Reply =
  | { readonly id: number; readonly ok: true; readonly rows?: readonly object[]; readonly tarball?: Uint8Array }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError };

/** Sent once by the thread: ready, or why opening failed. */
export type Opened = { readonly ready: true } | { readonly ready: false; readonly error: SerializedError };

/** The PostgreSQL error report fields PGlite's DatabaseError carries (see pg-protocol). */
const ERROR_FIELDS = ['code', 'severity', 'detail', 'hint', 'position', 'where', 'schema', 'table', 'column', 'dataType', 'constraint', 'routine'] as const;

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), fields: {} };
  const fields: Record<string, string> = {};
  const bag = err as unknown as Record<string, unknown>;
  for (const key of ERROR_FIELDS) {
    const value = bag[key];
    if (typeof value === 'string') fields[key] = value;
  }
  return { name: err.name, message: err.message, fields };
}

/** The error the caller sees: same message and report fields (`code`, `constraint`, …) as in-thread. */
export function deserializeError(e: SerializedError): Error {
  const err = new Error(e.message);
  err.name = e.name;
  Object.assign(err, e.fields);
  return err;
}
