/**
 * The in-process cache in front of Redis for `authenticate`, the hot path of every request. An
 * entry is trusted for at most `ttlMs` and is dropped the moment an ended event names its
 * session, so a logout or revoke elsewhere outlives here by at most the pub/sub latency. Activity
 * seen on a hit is remembered and handed to Redis on the next miss; the store also writes it
 * behind once Redis's copy is a touch interval old (`redisSeenAt`), because the sweeper ends
 * sessions by Redis's deadlines and a last request served from here must still count.
 *
 * Keyed by the presented token itself, not its hash: hashing cost a microsecond on every request,
 * and the token is in this process's memory anyway while its requests are handled. Redis, which
 * outlives the process and is shared, only ever sees the SHA-256.
 */
import type { Session } from './session-types.ts';

export interface Entry {
  session: Session;
  readonly fetchedAt: number;
  /** Latest activity seen on a hit and not yet written to Redis (0 = none). */
  activityAt: number;
  /** The last activity Redis has (or is being sent): the session's lastSeenAt as fetched, or a write-behind. */
  redisSeenAt: number;
}

export interface SessionCache {
  /** A fresh, unexpired entry, or undefined (then ask Redis). */
  hit(token: string, now: number): Entry | undefined;
  /** Activity a hit recorded that Redis has not seen yet (0 = none), for the next miss. */
  pendingActivity(token: string): number;
  put(token: string, session: Session, now: number): void;
  /** Record activity on a hit; returns the session as the caller should see it. */
  touch(entry: Entry, now: number): Session;
  evictSession(sessionId: string): void;
  forget(token: string): void;
  clear(): void;
  readonly size: number;
}

export function createSessionCache(ttlMs: number, maxEntries = 10_000): SessionCache {
  const byToken = new Map<string, Entry>();
  const tokenOf = new Map<string, string>();

  const remove = (token: string): void => {
    const e = byToken.get(token);
    byToken.delete(token);
    if (e) tokenOf.delete(e.session.id);
  };

  return {
    hit(token, now) {
      const e = byToken.get(token);
      if (!e) return undefined;
      const s = e.session;
      // Past a deadline by our copy: let Redis decide (another process may have seen activity).
      if (now - e.fetchedAt >= ttlMs || now >= s.absoluteExpiresAt || now >= s.idleExpiresAt) return undefined;
      return e;
    },
    pendingActivity(token) {
      return byToken.get(token)?.activityAt ?? 0;
    },
    put(token, session, now) {
      remove(token);
      if (byToken.size >= maxEntries) {
        const oldest = byToken.keys().next();
        if (oldest.done !== true) remove(oldest.value);
      }
      byToken.set(token, { session, fetchedAt: now, activityAt: 0, redisSeenAt: session.lastSeenAt });
      tokenOf.set(session.id, token);
    },
    touch(entry, now) {
      const s = entry.session;
      if (now <= s.lastSeenAt) return s;
      const idleMs = s.idleExpiresAt - s.lastSeenAt;
      entry.activityAt = now;
      entry.session = { ...s, lastSeenAt: now, idleExpiresAt: now + idleMs };
      return entry.session;
    },
    evictSession(sessionId) {
      const t = tokenOf.get(sessionId);
      if (t !== undefined) remove(t);
    },
    forget: remove,
    clear() {
      byToken.clear();
      tokenOf.clear();
    },
    get size() {
      return byToken.size;
    },
  };
}
