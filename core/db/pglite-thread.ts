/**
 * The PGlite thread: owns the embedded database (WASM) and answers core/db/pglite.ts over the
 * worker port. Started with workerData `{ dataDir?: string; template?: string }`; posts an
 * `Opened` message, then serves requests until `close`, after which the thread ends on its own
 * (its port closed, nothing left to run). A `template` is a tarball written by the `dump` request:
 * an in-memory database starts from it instead of running initdb (about 0.3 s instead of 1.2–2 s).
 *
 * Transactions: the first statement of one (`begin: true`) enters `pg.transaction()` and parks it
 * until `end` arrives, so the caller's statements (tagged with the transaction id) run inside it,
 * one after another in the order they arrived; `end` with commit false rolls back. PGlite
 * serializes transactions itself; statements outside one wait for it.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { serializeError, type Opened, type Reply, type Request } from './pglite-protocol.ts';
import { INT8_OID, parseSafeInt8 } from './int8.ts';

const BYTEA = 17;

const parsers = {
  [INT8_OID]: parseSafeInt8,
  // PostgreSQL's text form of bytea is \x followed by hex; arrives on the other side as a Uint8Array.
  [BYTEA]: (v: string): Buffer => Buffer.from(v.startsWith('\\x') ? v.slice(2) : v, 'hex'),
};

/**
 * Parameters: PGlite's own bytea serializer builds the hex text one byte at a time in JavaScript,
 * which for 1 KB envelopes was a visible share of this thread's time; Node's hex encoder is native.
 */
const serializers = {
  [BYTEA]: (v: unknown): string => {
    if (!(v instanceof Uint8Array)) throw new TypeError('bytea parameter must be a Uint8Array or Buffer');
    return `\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  },
};

interface Open {
  /** The PGlite transaction once entered (rejects if BEGIN failed). */
  readonly ready: Promise<Transaction>;
  readonly finish: (commit: boolean) => void;
  readonly done: Promise<void>;
  /** The last step queued on this transaction; the next one runs after it settles. */
  tail: Promise<unknown>;
}

class Rollback extends Error {}

const port = parentPort;
if (port === null) throw new Error('pglite-thread.ts runs only as a worker thread');
const { dataDir, template } = workerData as { dataDir?: string; template?: string };

let pg: PGlite;
try {
  const where = dataDir !== undefined ? { dataDir } : template !== undefined ? { loadDataDir: new Blob([readFileSync(template)]) } : {};
  pg = await PGlite.create({ ...where, parsers, serializers });
} catch (err) {
  port.postMessage({ ready: false, error: serializeError(err) } satisfies Opened);
  process.exit(1);
}

const open = new Map<number, Open>();

/** Enters `pg.transaction()` for transaction `id` and parks it until `end` decides. */
function begin(id: number): Open {
  if (open.has(id)) throw new Error(`transaction ${id} is already open`);
  let finish: (commit: boolean) => void = () => undefined;
  const decided = new Promise<boolean>((resolve) => (finish = resolve));
  let enter: (tx: Transaction) => void = () => undefined;
  const entered = new Promise<Transaction>((resolve) => (enter = resolve));
  const done = pg.transaction(async (tx) => {
    enter(tx);
    if (!(await decided)) throw new Rollback('rolled back by the caller');
  });
  // BEGIN itself failing rejects `done` before the callback ever runs; every statement of the
  // transaction then fails with that error (each awaits `ready`), and `end` reports it again.
  const ready = Promise.race([entered, done.then(() => Promise.reject(new Error('transaction ended before it began')))]);
  const t: Open = { ready, finish, done, tail: ready };
  open.set(id, t);
  return t;
}

/** Runs `step` on transaction `tx` after every step queued on it before. */
function inTransaction<T>(t: Open, step: (tx: Transaction) => Promise<T>): Promise<T> {
  const run = t.tail.then(
    async () => step(await t.ready),
    async () => step(await t.ready),
  );
  t.tail = run;
  return run;
}

function statement<T>(tx: number, beginFirst: boolean, step: (target: PGlite | Transaction) => Promise<T>): Promise<T> {
  if (tx === 0) return step(pg);
  const t = beginFirst ? begin(tx) : open.get(tx);
  if (t === undefined) return Promise.reject(new Error(`transaction ${tx} is not open`));
  return inTransaction(t, step);
}

async function end(tx: number, commit: boolean): Promise<void> {
  const t = open.get(tx);
  if (t === undefined) throw new Error(`transaction ${tx} is not open`);
  // After the statements sent before it (their own failures were answered to them).
  await t.tail.then(
    () => undefined,
    () => undefined,
  );
  t.finish(commit);
  try {
    await t.done;
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
  } finally {
    open.delete(tx);
  }
}

async function handle(req: Request): Promise<Omit<Extract<Reply, { ok: true }>, 'id'>> {
  switch (req.op) {
    case 'query': {
      const res = await statement(req.tx, req.begin, (target) => target.query<object>(req.text, req.params as unknown[] | undefined));
      return { ok: true, rows: res.rows };
    }
    case 'exec':
      await statement(req.tx, req.begin, (target) => target.exec(req.text));
      return { ok: true };
    case 'end':
      await end(req.tx, req.commit);
      return { ok: true };
    case 'dump': {
      const blob = await pg.dumpDataDir('none');
      return { ok: true, tarball: new Uint8Array(await blob.arrayBuffer()) };
    }
    case 'close':
      for (const t of open.values()) t.finish(false);
      await pg.close();
      return { ok: true };
  }
}

/**
 * Replies wait for the end of the current turn and go back together: each message wakes the
 * gateway's thread, which costs far more than the copy. A statement's reply is delayed only by
 * work that was already runnable here (statements queued behind a transaction that just ended).
 */
let outbox: Reply[] = [];
let closing = false;
function flush(): void {
  const batch = outbox;
  outbox = [];
  port?.postMessage(batch);
  if (closing) port?.close();
}
function reply(r: Reply): void {
  outbox.push(r);
  if (outbox.length === 1) setImmediate(flush);
}

port.on('message', (requests: readonly Request[]) => {
  for (const req of requests) {
    handle(req).then(
      (answer) => {
        if (req.op === 'close') closing = true;
        reply({ id: req.id, ...answer });
      },
      (err: unknown) => reply({ id: req.id, ok: false, error: serializeError(err) }),
    );
  }
});
port.postMessage({ ready: true } satisfies Opened);
