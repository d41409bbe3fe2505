/**
 * Coalesces envelope notices: what is notified for one recipient during one event-loop turn is
 * published as one notice (split at the notice's size cap) on the next turn. A group commit
 * answers every send of the group at once, so under load one publish — and one receive, parse and
 * handler run on every gateway — serves a whole group instead of each send. Each caller's promise
 * settles with the publish that carried its refs. Notices still carry only ids, devices and seqs.
 */
import type { StoredRef } from './envelope-store.ts';
import type { Notice } from './notice-bus.ts';

/** The notice schema's cap on entries per notice (notice-bus.ts). */
export const MAX_REFS_PER_NOTICE = 127;

export interface NoticeOutbox {
  /** Resolves once a notice carrying `refs` was published; rejects with that publish's error. */
  add(recipientUser: string, refs: readonly StoredRef[]): Promise<void>;
}

interface Pending {
  readonly refs: StoredRef[];
  readonly waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

export function createNoticeOutbox(publish: (notice: Notice) => Promise<void>): NoticeOutbox {
  let pending = new Map<string, Pending>();
  let scheduled = false;

  const publishOne = async (user: string, p: Pending): Promise<void> => {
    const entries = p.refs.map((r) => ({ d: r.deviceId, id: r.id, s: r.seq }));
    const parts: Promise<void>[] = [];
    for (let i = 0; i < entries.length; i += MAX_REFS_PER_NOTICE) parts.push(publish({ k: 'env', u: user, e: entries.slice(i, i + MAX_REFS_PER_NOTICE) }));
    try {
      await Promise.all(parts);
    } catch (err) {
      for (const w of p.waiters) w.reject(err);
      return;
    }
    for (const w of p.waiters) w.resolve();
  };

  const flush = (): void => {
    scheduled = false;
    const batch = pending;
    pending = new Map();
    for (const [user, p] of batch) void publishOne(user, p);
  };

  return {
    add(recipientUser, refs) {
      if (refs.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        let p = pending.get(recipientUser);
        if (p === undefined) {
          p = { refs: [], waiters: [] };
          pending.set(recipientUser, p);
        }
        p.refs.push(...refs);
        p.waiters.push({ resolve, reject });
        if (scheduled) return;
        scheduled = true;
        setImmediate(flush);
      });
    },
  };
}
