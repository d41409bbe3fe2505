/**
 * Embedded PostgreSQL (PGlite, WASM) on its own thread (core/db/pglite-thread.ts). Statements
 * run in the WASM engine without blocking the gateway's event loop, and the engine's JavaScript
 * keeps out of the gateway's isolate: sharing one measurably slowed every HTTP request (~4 µs of
 * CPU in the http bench), even with the database idle. The data dir is guarded by a lock file so
 * a second process (the CLI while `npm start` runs) gets a clear refusal instead of corrupting
 * the database.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { acquireDirLock, type DirLock } from './dir-lock.ts';
import { deserializeError, type Opened, type Reply, type Request } from './pglite-protocol.ts';
import type { Db, Sql } from './types.ts';

export interface PgliteOptions {
  /** Directory for a persistent database; omitted = in memory (tests). */
  readonly dataDir?: string;
  /**
   * In memory only: start from this tarball (written by `dumpTo`) instead of an empty cluster.
   * Skips initdb, the bulk of opening; the test suite opens every migrated database this way.
   */
  readonly template?: string;
}

/** The embedded database: a `Db`, plus a snapshot of its whole cluster as a tarball file. */
export interface PgliteDb extends Db {
  dumpTo(file: string): Promise<void>;
}

/**
 * How long `close` waits for the thread to finish on its own before terminating it. A thread is
 * terminated only when stuck: tearing down a thread that holds WebAssembly state from outside has
 * crashed whole processes (SIGSEGV in a test run; see nodejs/node#47748 for the same family).
 */
const THREAD_EXIT_GRACE_MS = 10_000;

/** A request before it is numbered. */
type Call = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** Bytea values cross the thread as Uint8Array; callers get Buffers, as from pg. */
function restoreBuffers(rows: readonly object[]): object[] {
  for (const row of rows) {
    const bag = row as Record<string, unknown>;
    for (const key in bag) {
      const v = bag[key];
      if (v instanceof Uint8Array && !Buffer.isBuffer(v)) bag[key] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
  }
  return rows as object[];
}

/** The gateway side of the thread: numbered requests, replies matched by id. */
class PgliteThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: Extract<Reply, { ok: true }>) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #nextTx = 1;
  #outbox: Request[] = [];
  #stopped: Error | undefined;
  #exited = false;

  constructor(worker: Worker) {
    this.#worker = worker;
    worker.unref();
    worker.on('message', (replies: readonly Reply[]) => {
      for (const msg of replies) {
        const waiter = this.#pending.get(msg.id);
        if (waiter === undefined) continue;
        this.#settled(msg.id);
        if (msg.ok) waiter.resolve(msg);
        else waiter.reject(deserializeError(msg.error));
      }
    });
    worker.on('error', (err: Error) => this.#stop(new Error(`the embedded database thread failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => {
      this.#exited = true;
      this.#stop(new Error(`the embedded database thread stopped (exit code ${code})`));
    });
  }

  call(req: Call): Promise<Extract<Reply, { ok: true }>> {
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      // Only waiting on a reply keeps the process alive, as an in-thread database would.
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.#outbox.push({ ...req, id });
      if (this.#outbox.length === 1) queueMicrotask(this.#flush);
    });
  }

  /** Requests made in one run of microtasks travel together: one message, one wake-up of the thread. */
  readonly #flush = (): void => {
    const batch = this.#outbox;
    this.#outbox = [];
    if (this.#stopped === undefined) this.#worker.postMessage(batch);
  };

  async query(tx: number, begin: boolean, text: string, params?: readonly unknown[]): Promise<object[]> {
    const reply = await this.call({ op: 'query', tx, begin, text, params });
    return restoreBuffers(reply.rows ?? []);
  }

  async exec(tx: number, begin: boolean, text: string): Promise<void> {
    await this.call({ op: 'exec', tx, begin, text });
  }

  /**
   * Opening costs no round trip: the first statement opens the transaction on the thread (see
   * pglite-protocol.ts), and a transaction that ran no statement has nothing to end.
   */
  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const id = this.#nextTx++;
    let begun = false;
    const first = (): boolean => {
      const begin = !begun;
      begun = true;
      return begin;
    };
    const sql: Sql = {
      query: <R extends object>(text: string, params?: readonly unknown[]) => this.query(id, first(), text, params) as Promise<R[]>,
      exec: (text: string) => this.exec(id, first(), text),
    };
    let result: T;
    try {
      result = await fn(sql);
    } catch (err) {
      // The caller's error is the one to report; a failed rollback only means the thread is gone.
      if (begun) await this.call({ op: 'end', tx: id, commit: false }).catch(() => undefined);
      throw err;
    }
    if (begun) await this.call({ op: 'end', tx: id, commit: true });
    return result;
  }

  /** Statements outside any transaction. */
  sql(): Sql {
    return {
      query: <R extends object>(text: string, params?: readonly unknown[]) => this.query(0, false, text, params) as Promise<R[]>,
      exec: (text: string) => this.exec(0, false, text),
    };
  }

  async dump(): Promise<Uint8Array> {
    const reply = await this.call({ op: 'dump' });
    if (reply.tarball === undefined) throw new Error('the embedded database thread sent no dump');
    return reply.tarball;
  }

  /** Asks the thread to close the database and waits for it to end by itself; terminates it only if it does not. */
  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.#exited) resolve();
      else this.#worker.once('exit', () => resolve());
    });
    this.#worker.ref();
    try {
      if (this.#stopped === undefined) await this.call({ op: 'close' }).catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<'stuck'>((resolve) => (timer = setTimeout(resolve, THREAD_EXIT_GRACE_MS, 'stuck')));
      const outcome = await Promise.race([exited, stuck]);
      clearTimeout(timer);
      if (outcome === 'stuck') await this.#worker.terminate();
    } finally {
      this.#worker.unref();
    }
  }

  #settled(id: number): void {
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker.unref();
  }

  #stop(err: Error): void {
    this.#stopped ??= err;
    for (const [id, waiter] of this.#pending) {
      this.#settled(id);
      waiter.reject(this.#stopped);
    }
  }
}

function startThread(dataDir: string | undefined, template: string | undefined): Promise<PgliteThread> {
  const worker = new Worker(new URL('./pglite-thread.ts', import.meta.url), { workerData: { dataDir, template } });
  return new Promise((resolve, reject) => {
    const failed = (err: Error): void => {
      worker.off('message', opened);
      reject(err);
    };
    const exited = (code: number): void => failed(new Error(`the embedded database thread stopped while opening (exit code ${code})`));
    const opened = (msg: Opened): void => {
      worker.off('error', failed).off('exit', exited);
      // A thread that failed to open ends itself right after saying why.
      if (msg.ready) resolve(new PgliteThread(worker));
      else reject(deserializeError(msg.error));
    };
    worker.once('message', opened).once('error', failed).once('exit', exited);
  });
}

export async function openPglite(opts: PgliteOptions = {}): Promise<PgliteDb> {
  if (opts.dataDir !== undefined && opts.template !== undefined) throw new Error('a PGlite template applies to in-memory databases only');
  let lock: DirLock | undefined;
  if (opts.dataDir !== undefined) {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    lock = acquireDirLock(opts.dataDir, 'PGlite database');
  }
  let thread: PgliteThread;
  try {
    thread = await startThread(opts.dataDir, opts.template);
  } catch (err) {
    lock?.release();
    throw err;
  }

  let closed: Promise<void> | undefined;
  return {
    kind: 'pglite',
    ...thread.sql(),
    transaction: (fn) => thread.transaction(fn),
    async dumpTo(file) {
      writeFileSync(file, await thread.dump(), { mode: 0o600 });
    },
    close() {
      closed ??= thread.close().finally(() => lock?.release());
      return closed;
    },
  };
}
