/**
 * Sessions in Redis with automatic logoff (HIPAA 164.312(a)(2)(iii)): an idle deadline that
 * activity pushes back and an absolute one that nothing does. Shared by every gateway process:
 * a session ended anywhere (logout, revoke, timeout found by a request or by the sweeper) is
 * ended exactly once, audited exactly once, and announced to every process so caches drop it
 * and its WebSockets close. Tokens are 256-bit random; Redis only ever sees their SHA-256.
 */
import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../../../core/audit/index.ts';
import { isToken, newToken, sha256Hex } from '../../../core/crypto/tokens.ts';
import { AppError, ErrorCode } from '../../../core/errors.ts';
import type { SessionEndReason } from '../../../core/identity/principal.ts';
import type { Logger } from '../../../core/log/logger.ts';
import type { Redis } from '../../../core/redis/connect.ts';
import { auditEntryFor, checkedCtx, isEndReason, parseEndRecord, SYSTEM_CTX, type StoredCtx } from './end-audit.ts';
import { END_LUA, LOOKUP_LUA, script, sessionKeys } from './redis-layout.ts';
import { createSessionCache, type Entry } from './session-cache.ts';
import { fromHash, toHash, type AuditCtx, type NewSession, type Session, type SessionEnded, type TimeLeft } from './session-types.ts';

export type { AuditCtx, NewSession, Session, SessionEnded, TimeLeft } from './session-types.ts';

export interface SessionStoreDeps {
  readonly redis: Redis;
  readonly audit: AuditLog;
  readonly log: Logger;
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  /** Default 'th:'. Tests pass a random one. */
  readonly keyPrefix?: string;
  /** How long authenticate trusts its in-process copy. Default 1000. */
  readonly cacheMs?: number;
  /** Write activity to Redis at most this often per session. Default 1000. */
  readonly touchEveryMs?: number;
  /** A Redis call slower than this fails with 503 instead of holding the request. Default 2000. */
  readonly redisTimeoutMs?: number;
  /** How long an end claim's holder has to append its audit record before a sweeper retries it. Default 30000. */
  readonly auditLeaseMs?: number;
  readonly now?: () => number;
}

export interface SessionStore {
  /** Resolves once ended events from other processes are being received. */
  ready(): Promise<void>;
  create(input: NewSession): Promise<{ token: string; session: Session }>;
  /** The live session for a token, or undefined. `touch` (default true) counts the call as activity. */
  authenticate(token: string, opts?: { touch?: boolean }): Promise<Session | undefined>;
  /**
   * The hot path of `authenticate`, synchronously: the session when this process's cache can vouch
   * for it, else undefined — which means "ask authenticate()", not "invalid".
   */
  authenticateCached(token: string, opts?: { touch?: boolean }): Session | undefined;
  timeLeft(session: Session): TimeLeft;
  /** The live session by public id, without counting as activity. */
  get(sessionId: string): Promise<Session | undefined>;
  /** Count activity on a session known by id (WebSocket app messages). Undefined if it has ended. */
  touch(sessionId: string): Promise<Session | undefined>;
  listForUser(userId: string): Promise<Session[]>;
  /** False if it had already ended. */
  end(sessionId: string, reason: SessionEndReason, ctx: AuditCtx): Promise<boolean>;
  endAllForUser(userId: string, reason: SessionEndReason, ctx: AuditCtx): Promise<number>;
  /** New token and new id, same principal (role optionally changed); the old one ends as 'rotated'. */
  rotate(sessionId: string, ctx: AuditCtx, changes?: Partial<Pick<NewSession, 'role'>>): Promise<{ token: string; session: Session }>;
  /** Fires in every process, once per ended session. Returns the unsubscribe function. */
  onEnded(listener: (e: SessionEnded) => void): () => void;
  /** End sessions past a deadline and retry unconfirmed audit records; resolves to how many this call ended. */
  sweep(): Promise<number>;
  startSweeper(intervalMs: number): void;
  /** Idempotent. Leaves the shared Redis client open. */
  close(): Promise<void>;
}

const ID_RE = /^[0-9a-f]{32}$/;
/** Redis drops a session's keys this long after its absolute deadline if no sweeper ever ran. */
const KEY_GRACE_MS = 24 * 60 * 60 * 1000;
const SWEEP_BATCH = 200;

const lookup = script(LOOKUP_LUA);
const endClaim = script(END_LUA);

export function hashToken(token: string): string {
  return sha256Hex(token);
}

/**
 * Builds the store and starts listening for ended events on its own connection. Await `ready()`
 * before serving (the composition root) so no event is missed; until then nothing is cached.
 */
export function createSessionStore(deps: SessionStoreDeps): SessionStore {
  const { redis, audit, log, idleTimeoutMs, absoluteTimeoutMs } = deps;
  const keys = sessionKeys(deps.keyPrefix ?? 'th:');
  const cacheMs = deps.cacheMs ?? 1000;
  const touchEveryMs = deps.touchEveryMs ?? 1000;
  const redisTimeoutMs = deps.redisTimeoutMs ?? 2000;
  const leaseMs = deps.auditLeaseMs ?? 30_000;
  const now = deps.now ?? Date.now;
  const owner = randomBytes(8).toString('hex');
  const cache = createSessionCache(cacheMs);
  const listeners = new Set<(e: SessionEnded) => void>();
  let closed = false;
  let sweeper: NodeJS.Timeout | undefined;
  let sweeping: Promise<number> | undefined;

  /** Redis or 503: a slow or absent Redis must never read as "not signed in" or hang a request. */
  const r = async <T>(op: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        op,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`redis did not answer within ${redisTimeoutMs} ms`)), redisTimeoutMs);
        }),
      ]);
    } catch (err) {
      throw new AppError(503, ErrorCode.unavailable, 'Sessions are temporarily unavailable; try again shortly', { cause: err });
    } finally {
      clearTimeout(timer);
    }
  };

  const subscriber = redis.duplicate();
  subscriber.on('error', (err: unknown) => log.warn({ err }, 'session events: redis subscriber error'));
  let everReady = false;
  subscriber.on('ready', () => {
    // Events published while we were disconnected are lost; forget everything cached instead.
    if (everReady) cache.clear();
    everReady = true;
  });
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== keys.channel) return;
    let e: SessionEnded;
    try {
      const v = JSON.parse(message) as Record<string, unknown>;
      if (typeof v['sessionId'] !== 'string' || typeof v['userId'] !== 'string' || !isEndReason(v['reason'])) throw new Error('bad shape');
      e = { sessionId: v['sessionId'], userId: v['userId'], reason: v['reason'] };
    } catch (err) {
      log.error({ err }, 'session events: malformed ended event ignored');
      return;
    }
    cache.evictSession(e.sessionId);
    for (const l of [...listeners]) {
      try {
        l(e);
      } catch (err) {
        log.error({ err, sessionId: e.sessionId }, 'session ended listener threw');
      }
    }
  });
  let subscribed = false;
  const subscription = subscriber.subscribe(keys.channel).then(() => {
    subscribed = true;
  });
  subscription.catch((err: unknown) => log.error({ err }, 'session events: cannot subscribe; ended sessions elsewhere will not close sockets here'));

  /** Append the audit record for a claimed end, then release the claim; on failure keep it for the sweeper. */
  const appendClaimed = async (json: string, delayed: boolean): Promise<void> => {
    const rec = parseEndRecord(json);
    if (!rec) {
      log.error('session end record unreadable; dropping it');
      return;
    }
    try {
      await audit.append(auditEntryFor(rec, delayed));
    } catch (err) {
      log.error({ err, sessionId: rec.sessionId, reason: rec.reason }, 'AUDIT APPEND FAILED for a session end; the session has ended and the record will be retried by the sweeper');
      await redis.del(keys.lease(rec.sessionId));
      return;
    }
    try {
      await redis.multi().hdel(keys.pending, rec.sessionId).del(keys.lease(rec.sessionId)).exec();
    } catch (err) {
      // The record is appended; if this release is lost the lease expires and a retry may append it twice.
      log.error({ err, sessionId: rec.sessionId }, 'session end audited but its pending record could not be released');
    }
  };

  /** '' reason = end only if past a deadline. Resolves true when this call ended it. */
  const claimEnd = async (sessionId: string, reason: SessionEndReason | '', ctx: StoredCtx): Promise<boolean> => {
    const res = await r(endClaim(redis, [], [keys.base, sessionId, reason, JSON.stringify(ctx), now(), leaseMs, owner]));
    if (res === 'vanished') {
      log.error({ sessionId }, 'session data expired from redis before the sweeper ended it; no end audit record could be written (is the sweeper running?)');
      return false;
    }
    if (typeof res !== 'string') return false;
    cache.evictSession(sessionId);
    await appendClaimed(res, false);
    return true;
  };

  const endChecked = async (sessionId: string, reason: SessionEndReason, ctx: StoredCtx): Promise<boolean> => {
    if (!ID_RE.test(sessionId)) return false;
    const checked = checkedCtx(ctx);
    if (checked.problems.length > 0) log.error({ sessionId, problems: checked.problems }, 'session end: audit context invalid; recording a reduced one');
    return claimEnd(sessionId, reason, checked.ctx);
  };

  /**
   * Activity on a cache hit: recorded in the entry, and written behind to Redis (one round trip,
   * not awaited) once Redis's copy is a touch interval old — otherwise the sweeper, which reads
   * Redis's deadlines, could end a session whose last request was served from the cache.
   */
  const touchHit = (entry: Entry, t: number): Session => {
    const session = cache.touch(entry, t);
    if (t - entry.redisSeenAt >= touchEveryMs) {
      entry.redisSeenAt = t;
      lookupSession('', session.id, t).catch((err: unknown) => log.warn({ err, sessionId: session.id }, 'could not write session activity behind; the next cache miss carries it'));
    }
    return session;
  };

  /** One round trip: find, check deadlines, record activity. Expired → end it and answer undefined. */
  const lookupSession = async (tokenKey: string, sessionId: string, touchAt: number): Promise<Session | undefined> => {
    const res = await r(lookup(redis, [tokenKey], [keys.base, sessionId, now(), touchAt, touchEveryMs]));
    if (!Array.isArray(res)) return undefined;
    const [id, status, flat] = res as [unknown, unknown, unknown];
    if (typeof id !== 'string') return undefined;
    if (status === 'idle' || status === 'absolute') {
      await claimEnd(id, status, SYSTEM_CTX);
      return undefined;
    }
    return Array.isArray(flat) ? fromHash(id, flat) : undefined;
  };

  const create = async (input: NewSession): Promise<{ token: string; session: Session }> => {
    if (closed) throw new Error('session store is closed');
    const t = now();
    const id = randomBytes(16).toString('hex');
    const token = newToken();
    const tokenHash = hashToken(token);
    const absoluteExpiresAt = Math.min(t + absoluteTimeoutMs, input.absoluteExpiresAt ?? Number.POSITIVE_INFINITY);
    if (absoluteExpiresAt <= t) throw new AppError(400, ErrorCode.badRequest, 'This session would already have expired');
    const principal = (() => {
      if (input.kind === 'staff' && input.role !== null) return { kind: 'staff', userId: input.userId, role: input.role, sessionId: id } as const;
      if (input.kind === 'patient' && input.patientId !== null && input.scope !== null) {
        return { kind: 'patient', userId: input.userId, patientId: input.patientId, scope: input.scope, appointmentId: input.appointmentId, sessionId: id } as const;
      }
      if (input.kind === 'guest' && input.appointmentId !== null) return { kind: 'guest', userId: input.userId, appointmentId: input.appointmentId, sessionId: id } as const;
      throw new TypeError(`a ${input.kind} session needs ${input.kind === 'staff' ? 'a role' : 'a patient id and a scope'}`);
    })();
    const session: Session = {
      id, principal, createdAt: t, lastSeenAt: t, idleExpiresAt: t + idleTimeoutMs, absoluteExpiresAt, csrfToken: newToken(),
    };
    const dropAt = absoluteExpiresAt + KEY_GRACE_MS;
    const results = await r(
      redis
        .multi()
        .hset(keys.session(id), toHash(session, tokenHash, idleTimeoutMs))
        .pexpireat(keys.session(id), dropAt)
        .set(keys.token(tokenHash), id, 'PXAT', dropAt)
        .sadd(keys.user(input.userId), id)
        .pexpire(keys.user(input.userId), absoluteTimeoutMs + KEY_GRACE_MS)
        .zadd(keys.deadlines, Math.min(session.idleExpiresAt, absoluteExpiresAt), id)
        .exec(),
    );
    const failed = results?.find(([err]) => err !== null);
    if (!results || failed) throw new AppError(503, ErrorCode.unavailable, 'Sessions are temporarily unavailable; try again shortly', { cause: failed?.[0] });
    return { token, session };
  };

  const sweepOnce = async (): Promise<number> => {
    let ended = 0;
    for (let round = 0; round < 50; round++) {
      const due = await r(redis.zrangebyscore(keys.deadlines, '-inf', now(), 'LIMIT', 0, SWEEP_BATCH));
      for (const id of due) if (await claimEnd(id, '', SYSTEM_CTX)) ended++;
      if (due.length < SWEEP_BATCH) break;
    }
    // Audit records whose first append failed (or whose process died mid-append).
    const pending = await r(redis.hgetall(keys.pending));
    for (const id of Object.keys(pending)) {
      if ((await redis.set(keys.lease(id), owner, 'PX', leaseMs, 'NX')) !== 'OK') continue;
      // Re-read under the lease: the first holder may have finished between our read and our lease.
      const json = await redis.hget(keys.pending, id);
      if (json === null) await redis.del(keys.lease(id));
      else await appendClaimed(json, true);
    }
    return ended;
  };

  const store: SessionStore = {
    ready: () => subscription,
    create,

    authenticateCached(token, opts) {
      // No shape check: only tokens that passed one in authenticate() are ever in the cache.
      if (closed) return undefined;
      const t = now();
      const entry = cache.hit(token, t);
      if (entry === undefined) return undefined;
      return (opts?.touch ?? true) ? touchHit(entry, t) : entry.session;
    },
    async authenticate(token, opts) {
      if (closed) throw new Error('session store is closed');
      if (!isToken(token)) return undefined;
      const touch = opts?.touch ?? true;
      const t = now();
      const entry = cache.hit(token, t);
      if (entry) return touch ? touchHit(entry, t) : entry.session;
      const tokenHash = hashToken(token);
      const touchAt = touch ? t : cache.pendingActivity(token);
      const session = await lookupSession(keys.token(tokenHash), '', touchAt);
      // Cache only while ended events can evict it.
      if (session && subscribed) cache.put(token, session, t);
      else cache.forget(token);
      return session;
    },

    timeLeft(session) {
      const t = now();
      const expiresAt = Math.min(session.idleExpiresAt, session.absoluteExpiresAt);
      return { idleMs: Math.max(0, session.idleExpiresAt - t), absoluteMs: Math.max(0, session.absoluteExpiresAt - t), expiresAt };
    },

    async get(sessionId) {
      if (!ID_RE.test(sessionId)) return undefined;
      return lookupSession('', sessionId, 0);
    },

    async touch(sessionId) {
      if (!ID_RE.test(sessionId)) return undefined;
      return lookupSession('', sessionId, now());
    },

    async listForUser(userId) {
      const ids = await r(redis.smembers(keys.user(userId)));
      const out: Session[] = [];
      for (const id of ids) {
        const s = await store.get(id);
        if (s) out.push(s);
        else await redis.srem(keys.user(userId), id);
      }
      return out.sort((a, b) => a.createdAt - b.createdAt);
    },

    end: (sessionId, reason, ctx) => endChecked(sessionId, reason, ctx),

    async endAllForUser(userId, reason, ctx) {
      const ids = await r(redis.smembers(keys.user(userId)));
      let n = 0;
      for (const id of ids) if (await endChecked(id, reason, ctx)) n++;
      return n;
    },

    async rotate(sessionId, ctx, changes) {
      const old = await store.get(sessionId);
      const invalid = () => new AppError(401, 'session_invalid', 'Your session has ended or is not valid; sign in again');
      if (!old) throw invalid();
      const p = old.principal;
      const next = await create({
        kind: p.kind,
        userId: p.userId,
        role: p.kind === 'staff' ? (changes?.role ?? p.role) : null,
        patientId: p.kind === 'patient' ? p.patientId : null,
        scope: p.kind === 'patient' ? p.scope : null,
        appointmentId: p.kind === 'staff' ? null : p.appointmentId,
        // Rotation must not lengthen a session's life.
        absoluteExpiresAt: old.absoluteExpiresAt,
      });
      if (!(await endChecked(sessionId, 'rotated', { ...ctx, details: { replacedBy: next.session.id } }))) {
        // Lost a race with an end elsewhere: the replacement was never handed out; end it (audited) and refuse.
        await claimEnd(next.session.id, 'revoked', { ...SYSTEM_CTX, details: { cause: 'rotation_raced_end' } });
        throw invalid();
      }
      return next;
    },

    onEnded(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async sweep() {
      // One sweep at a time per process; a second caller shares the running one.
      sweeping ??= sweepOnce().finally(() => (sweeping = undefined));
      return sweeping;
    },

    startSweeper(intervalMs) {
      if (closed || sweeper) return;
      sweeper = setInterval(() => {
        store.sweep().catch((err: unknown) => log.error({ err }, 'session sweep failed'));
      }, intervalMs);
      sweeper.unref();
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      listeners.clear();
      cache.clear();
      if (sweeping) await sweeping.catch((err: unknown) => log.error({ err }, 'session sweep failed during close'));
      if (subscriber.status === 'ready') await subscriber.quit();
      else subscriber.disconnect();
    },
  };
  return store;
}
