/**
 * Group commit (and batched reads) for concurrent callers. On PGlite every statement is a round
 * trip to one worker thread, and the audit chain lock serializes every writer anyway, so a
 * transaction per item caps throughput at what one thread can do one item at a time. The batcher
 * keeps at most one group in flight: what is submitted while a group runs waits, and the next
 * group takes everything that queued (up to `maxBatch`) — no timer, so a lone item pays only a
 * deferral to the next event-loop turn, and under load groups grow by themselves. Used by the
 * messaging relay (sends) and the reminder workers (delivery reads, claims and outcomes).
 *
 * `commit(items)` runs once for the group and answers each item (an item may fail alone, e.g. a
 * 409, while the others commit). If the whole group throws, every item is retried alone in its
 * own `commit([item])`, so one bad item cannot fail its neighbours; the group error goes to
 * `onGroupError`. Generic over items and results; knows nothing about the database.
 */

export type Outcome<O> = { readonly ok: true; readonly value: O } | { readonly ok: false; readonly error: unknown };

export interface GroupBatcherOptions<I, O> {
  /** One transaction for the whole group; answers in item order (same length). */
  readonly commit: (items: readonly I[]) => Promise<readonly Outcome<O>[]>;
  /** A whole group failed (its items are then retried alone). Must not throw. */
  readonly onGroupError: (err: unknown, items: readonly I[]) => void;
  /** Most items per group. Default 64. */
  readonly maxBatch?: number;
}

export interface GroupBatcher<I, O> {
  /** Resolves with the item's result once its group committed; rejects with its own error. */
  submit(item: I): Promise<O>;
  /** Submitted and not yet answered (queued + in flight). */
  readonly pending: number;
}

interface Waiter<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (err: unknown) => void;
}

export const DEFAULT_MAX_BATCH = 64;

export function createGroupBatcher<I, O>(opts: GroupBatcherOptions<I, O>): GroupBatcher<I, O> {
  const maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError('maxBatch must be a positive integer');
  const queue: Waiter<I, O>[] = [];
  let inFlight = 0;
  let running = false;

  const settle = (w: Waiter<I, O>, o: Outcome<O> | undefined): void => {
    if (o === undefined) w.reject(new Error('group commit returned no outcome for an item'));
    else if (o.ok) w.resolve(o.value);
    else w.reject(o.error);
  };

  const commitGroup = async (group: readonly Waiter<I, O>[]): Promise<void> => {
    let outcomes: readonly Outcome<O>[];
    try {
      outcomes = await opts.commit(group.map((w) => w.item));
      if (outcomes.length !== group.length) throw new Error(`group commit answered ${outcomes.length} of ${group.length} items`);
    } catch (err) {
      if (group.length === 1) {
        group[0]?.reject(err);
        return;
      }
      opts.onGroupError(err, group.map((w) => w.item));
      for (const w of group) {
        try {
          const [o] = await opts.commit([w.item]);
          settle(w, o);
        } catch (alone) {
          w.reject(alone);
        }
      }
      return;
    }
    group.forEach((w, i) => settle(w, outcomes[i]));
  };

  const run = async (): Promise<void> => {
    try {
      while (queue.length > 0) {
        const group = queue.splice(0, maxBatch);
        try {
          await commitGroup(group);
        } catch (err) {
          // Only a throwing onGroupError gets here; never leave a request hanging.
          for (const w of group) w.reject(err);
        } finally {
          inFlight -= group.length;
        }
      }
    } finally {
      running = false;
    }
  };

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        inFlight += 1;
        if (running) return;
        running = true;
        // The next turn, so items that arrive in this one join the first group.
        setImmediate(() => void run());
      });
    },
    get pending() {
      return inFlight;
    },
  };
}
