/**
 * The PGlite thread: owns the embedded database (WASM) and answers core/db/pglite.ts over the
 * worker port. Started with workerData `{ dataDir?: string }`; posts an `Opened` message, then
 * serves requests until `close`.
 *
 * Transactions: `begin` enters `pg.transaction()` and parks it until `end` arrives, so the
 * caller's statements (tagged with the transaction id) run inside it; `end` with commit false
 * rolls back. PGlite serializes transactions itself; statements outside one wait for it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { serializeError, type Opened, type Reply, type Request } from './pglite-protocol.ts';

const INT8 = 20;
const BYTEA = 17;

const parsers = {
  [INT8]: (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new RangeError('int8 value exceeds Number.MAX_SAFE_INTEGER');
    return n;
  },
  // PostgreSQL's text form of bytea is \x followed by hex; arrives on the other side as a Uint8Array.
  [BYTEA]: (v: string): Buffer => Buffer.from(v.startsWith('\\x') ? v.slice(2) : v, 'hex'),
};

interface Open {
  readonly tx: Transaction;
  readonly finish: (commit: boolean) => void;
  readonly done: Promise<void>;
}

class Rollback extends Error {}

const port = parentPort;
if (port === null) throw new Error('pglite-thread.ts runs only as a worker thread');
const { dataDir } = workerData as { dataDir?: string };

let pg: PGlite;
try {
  pg = await PGlite.create(dataDir === undefined ? { parsers } : { dataDir, parsers });
} catch (err) {
  port.postMessage({ ready: false, error: serializeError(err) } satisfies Opened);
  process.exit(1);
}

const open = new Map<number, Open>();
let nextTx = 1;

function target(tx: number): PGlite | Transaction {
  if (tx === 0) return pg;
  const t = open.get(tx);
  if (t === undefined) throw new Error(`transaction ${tx} is not open`);
  return t.tx;
}

async function begin(): Promise<number> {
  const id = nextTx++;
  let finish: (commit: boolean) => void = () => undefined;
  const decided = new Promise<boolean>((resolve) => (finish = resolve));
  let enter: (tx: Transaction) => void = () => undefined;
  const entered = new Promise<Transaction>((resolve) => (enter = resolve));
  const done = pg.transaction(async (tx) => {
    enter(tx);
    if (!(await decided)) throw new Rollback('rolled back by the caller');
  });
  // BEGIN itself failing rejects `done` before the callback ever runs.
  const tx = await Promise.race([entered, done.then(() => Promise.reject(new Error('transaction ended before it began')))]);
  open.set(id, { tx, finish, done });
  return id;
}

async function end(tx: number, commit: boolean): Promise<void> {
  const t = open.get(tx);
  if (t === undefined) throw new Error(`transaction ${tx} is not open`);
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
      const res = await target(req.tx).query<object>(req.text, req.params as unknown[] | undefined);
      return { ok: true, rows: res.rows };
    }
    case 'exec':
      await target(req.tx).exec(req.text);
      return { ok: true };
    case 'begin':
      return { ok: true, tx: await begin() };
    case 'end':
      await end(req.tx, req.commit);
      return { ok: true };
    case 'close':
      for (const t of open.values()) t.finish(false);
      await pg.close();
      return { ok: true };
  }
}

port.on('message', (req: Request) => {
  handle(req).then(
    (reply) => {
      port.postMessage({ id: req.id, ...reply } satisfies Reply);
      if (req.op === 'close') port.close();
    },
    (err: unknown) => port.postMessage({ id: req.id, ok: false, error: serializeError(err) } satisfies Reply),
  );
});
port.postMessage({ ready: true } satisfies Opened);
