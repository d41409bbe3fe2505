/**
 * Test wiring for the session store: a real Redis client per simulated gateway process, a real
 * audit log on a per-test database, a controllable clock, and cleanup of the test's keys.
 */
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { afterEach, inject } from 'vitest';
import { createAuditLog, type AuditLog } from '../../../core/audit/index.ts';
import type { Db } from '../../../core/db/types.ts';
import { createLogger, type Logger } from '../../../core/log/logger.ts';
import { connectRedis, type Redis } from '../../../core/redis/connect.ts';
import { createSessionStore, type SessionStore, type SessionStoreDeps } from './session-store.ts';

export interface Clock {
  t: number;
  readonly now: () => number;
  advance(ms: number): void;
}

export function fakeClock(start = Date.now()): Clock {
  const c: Clock = {
    t: start,
    now: () => c.t,
    advance: (ms) => {
      c.t += ms;
    },
  };
  return c;
}

/** A logger whose lines the test can read. */
export function captureLog(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b.toString('utf8')));
  const log = createLogger({ level: 'info', destination: stream });
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export type StoreOptions = Partial<Omit<SessionStoreDeps, 'redis' | 'keyPrefix'>>;

export interface SessionHarness {
  readonly prefix: string;
  readonly audit: AuditLog;
  /** Another gateway process: its own Redis connections, same Redis, same key prefix. */
  store(opts?: StoreOptions): Promise<SessionStore & { readonly redis: Redis }>;
  /** The session audit rows, oldest first. */
  auditRows(): Promise<AuditRow[]>;
  /** Every key and value under the test's prefix, as text. */
  dump(): Promise<string[]>;
}

export interface AuditRow {
  action: string;
  actor_type: string;
  actor_id: string | null;
  resource_id: string | null;
  patient_id: string | null;
  request_id: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}

/** Call at describe level; `make(db)` builds a harness whose stores and clients close after each test. */
export function sessionHarness(): (db: Db, audit?: AuditLog) => SessionHarness {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return (db, auditOverride) => {
    const prefix = `test-${randomUUID()}:`;
    const audit = auditOverride ?? createAuditLog(db);
    const clients: Redis[] = [];
    const client = async (): Promise<Redis> => {
      const r = await connectRedis(inject('redisUrl'));
      clients.push(r);
      return r;
    };
    cleanups.push(async () => {
      const r = await client();
      const found = await r.keys(`${prefix}*`);
      if (found.length > 0) await r.del(...found);
      for (const c of clients) if (c.status === 'ready') await c.quit();
    });
    return {
      prefix,
      audit,
      async store(opts = {}) {
        const redis = await client();
        const s = createSessionStore({
          audit,
          log: createLogger({ level: 'silent' }),
          idleTimeoutMs: 15 * 60_000,
          absoluteTimeoutMs: 12 * 60 * 60_000,
          ...opts,
          redis,
          keyPrefix: prefix,
        });
        cleanups.push(() => s.close());
        await s.ready();
        return Object.assign(s, { redis });
      },
      async auditRows() {
        return db.query<AuditRow>(
          `SELECT action, actor_type, actor_id, resource_id, patient_id, request_id, ip, details FROM audit_log WHERE resource_type = 'session' ORDER BY seq`,
        );
      },
      async dump() {
        const r = await client();
        const out: string[] = [];
        for (const k of await r.keys(`${prefix}*`)) {
          out.push(k);
          const type = await r.type(k);
          if (type === 'string') out.push(String(await r.get(k)));
          else if (type === 'hash') out.push(...Object.entries(await r.hgetall(k)).flat());
          else if (type === 'set') out.push(...(await r.smembers(k)));
          else if (type === 'zset') out.push(...(await r.zrange(k, '0', '-1')));
          else out.push(`<${type}>`);
        }
        return out;
      },
    };
  };
}
