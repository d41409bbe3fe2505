/**
 * Concurrent appends stay one valid chain: on PostgreSQL from four separate OS processes (the
 * advisory lock across connections), on PGlite from four in-process writers (its one connection).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from '../../test/helpers/databases.ts';
import { ActorType, AuditAction, AuditOutcome } from './actions.ts';
import { createAuditLog } from './log.ts';
import { verifyChain } from './verify.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE = path.join(ROOT, 'node_modules/.bin/node');
const WORKER = path.join(import.meta.dirname, 'test-fixtures/append-worker.ts');
const WRITERS = 4;
const PER_WRITER = 250;

async function expectOneChainOf(t: TestDb, total: number): Promise<void> {
  const v = await verifyChain(t.db, { publicKeys: [] });
  expect(v).toMatchObject({ ok: true, checked: total, head: { seq: total } });
  const rows = await t.db.query<{ seq: number; actor_id: string }>('SELECT seq, actor_id FROM audit_log ORDER BY seq');
  expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  // Evidence the writers really overlapped, rather than running one after another.
  const switches = rows.filter((r, i) => i > 0 && r.actor_id !== rows[i - 1]?.actor_id).length;
  expect(switches).toBeGreaterThan(WRITERS * 2);
}

describe('concurrent audit appends', () => {
  let t: TestDb | undefined;
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children) if (c.exitCode === null) c.kill();
    children.length = 0;
    await t?.dispose();
    t = undefined;
  });

  it(`stay one chain on PostgreSQL with ${WRITERS} processes x ${PER_WRITER} entries`, { timeout: 120_000 }, async () => {
    t = await openTestDb('postgres');
    const url = t.url;
    if (!url) throw new Error('postgres test database has no url');
    const started = Array.from({ length: WRITERS }, (_, w) => {
      const child = spawn(NODE, [WORKER, url, String(PER_WRITER), `dev_${w}`], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
      children.push(child);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const lines = createInterface({ input: child.stdout ?? process.stdin });
      const ready = new Promise<void>((resolve, reject) => {
        lines.on('line', (l) => l === 'ready' && resolve());
        child.once('exit', (code) => reject(new Error(`worker ${w} exited ${code} before ready: ${stderr}`)));
      });
      const exited = once(child, 'exit').then(([code]) => {
        if (code !== 0) throw new Error(`worker ${w} exited ${String(code)}: ${stderr}`);
      });
      return { child, ready, exited };
    });
    await Promise.all(started.map((s) => s.ready));
    for (const s of started) s.child.stdin?.end('go\n'); // all start together
    await Promise.all(started.map((s) => s.exited));
    await expectOneChainOf(t, WRITERS * PER_WRITER);
  });

  it(`stay one chain on PGlite with ${WRITERS} in-process writers x ${PER_WRITER} entries`, { timeout: 120_000 }, async () => {
    t = await openTestDb('pglite');
    const db = t.db;
    const log = createAuditLog(db);
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; i < PER_WRITER; i++) {
          const entry = { actorType: ActorType.device, actorId: `dev_${w}`, action: AuditAction.messageSend, outcome: AuditOutcome.success, details: { i } };
          // Half through the caller's own transaction, half standalone: both paths share the lock.
          if (i % 2 === 0) await log.append(entry);
          else await db.transaction((tx) => log.append(entry, tx));
        }
      }),
    );
    await expectOneChainOf(t, WRITERS * PER_WRITER);
  });
});
