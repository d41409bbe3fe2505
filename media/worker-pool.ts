/**
 * A pool of mediasoup workers (one per core by default: each is a single-threaded C++ process).
 * Rooms go to the least-loaded live worker. A worker that dies is reported to the pool's
 * listeners (its rooms close with `worker-died`) and replaced after a short back-off, in the
 * same port slot; the Node process keeps running. Each slot owns a disjoint slice of the RTC
 * port range so two workers never race for one port.
 */
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from '../core/log/logger.ts';
import { MediaUnavailableError } from './errors.ts';

export interface WorkerPoolOptions {
  readonly size: number;
  readonly workerBin: string;
  readonly rtcMinPort: number;
  readonly rtcMaxPort: number;
  readonly log: Logger;
  /** Delay before a dead worker's replacement starts (doubles on repeated deaths, max 30 s). */
  readonly respawnDelayMs?: number;
}

export interface PooledWorker {
  readonly slot: number;
  readonly worker: types.Worker;
  readonly pid: number;
  readonly portRange: { readonly min: number; readonly max: number };
  /** Participants placed on this worker (rooms add and remove). */
  load: number;
}

export interface WorkerPool {
  start(): Promise<void>;
  /** The live worker with the lowest load. MediaUnavailableError when none is alive. */
  pick(): PooledWorker;
  /** Called after a worker died (before its replacement starts). Returns an unsubscribe. */
  onDied(fn: (w: PooledWorker) => void): () => void;
  /** Called when a (replacement) worker is up. */
  onStarted(fn: (w: PooledWorker) => void): () => void;
  readonly workers: readonly PooledWorker[];
  /** Idempotent: closes every worker and stops respawning. */
  close(): Promise<void>;
}

export function createWorkerPool(opts: WorkerPoolOptions): WorkerPool {
  const { log } = opts;
  if (opts.rtcMaxPort < opts.rtcMinPort) throw new RangeError('RTC_MAX_PORT must not be below RTC_MIN_PORT');
  const span = Math.floor((opts.rtcMaxPort - opts.rtcMinPort + 1) / opts.size);
  if (span < 2) throw new RangeError(`RTC port range ${opts.rtcMinPort}-${opts.rtcMaxPort} is too small for ${opts.size} media workers`);
  const slots: (PooledWorker | undefined)[] = new Array<PooledWorker | undefined>(opts.size).fill(undefined);
  const deaths = new Array<number>(opts.size).fill(0);
  const diedFns = new Set<(w: PooledWorker) => void>();
  const startedFns = new Set<(w: PooledWorker) => void>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let closing: Promise<void> | undefined;

  const notify = <T>(fns: Set<(v: T) => void>, v: T): void => {
    for (const fn of fns) {
      try {
        fn(v);
      } catch (err) {
        log.error({ err }, 'media worker listener failed');
      }
    }
  };

  const spawn = async (slot: number): Promise<void> => {
    const portRange = { min: opts.rtcMinPort + slot * span, max: opts.rtcMinPort + (slot + 1) * span - 1 };
    const worker = await mediasoup.createWorker({ workerBin: opts.workerBin, logLevel: 'warn' });
    if (closed) {
      worker.close();
      return;
    }
    const pooled: PooledWorker = { slot, worker, pid: worker.pid, portRange, load: 0 };
    slots[slot] = pooled;
    const startedAt = Date.now();
    worker.on('died', (err) => {
      // A worker that ran for a while before dying restarts at the shortest back-off.
      if (Date.now() - startedAt > 60_000) deaths[slot] = 0;
      log.error({ err, pid: pooled.pid, slot }, 'media worker died; closing its rooms and starting a replacement');
      if (slots[slot] === pooled) slots[slot] = undefined;
      notify(diedFns, pooled);
      respawn(slot);
    });
    log.info({ pid: pooled.pid, slot, ports: `${portRange.min}-${portRange.max}` }, 'media worker started');
    notify(startedFns, pooled);
  };

  const respawn = (slot: number): void => {
    if (closed) return;
    const n = (deaths[slot] ?? 0) + 1;
    deaths[slot] = n;
    const delay = Math.min(30_000, (opts.respawnDelayMs ?? 250) * 2 ** Math.min(n - 1, 7));
    const t = setTimeout(() => {
      timers.delete(t);
      spawn(slot).catch((err: unknown) => {
        log.error({ err, slot }, 'media worker replacement failed to start; retrying');
        respawn(slot);
      });
    }, delay);
    timers.add(t);
  };

  return {
    async start() {
      await Promise.all(slots.map((_, i) => spawn(i)));
    },

    pick() {
      let best: PooledWorker | undefined;
      for (const w of slots) if (w !== undefined && !w.worker.died && !w.worker.closed && (best === undefined || w.load < best.load)) best = w;
      if (best === undefined) throw new MediaUnavailableError();
      return best;
    },

    onDied(fn) {
      diedFns.add(fn);
      return () => diedFns.delete(fn);
    },

    onStarted(fn) {
      startedFns.add(fn);
      return () => startedFns.delete(fn);
    },

    get workers() {
      return slots.filter((w): w is PooledWorker => w !== undefined);
    },

    close() {
      closing ??= (async () => {
        closed = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        const live = slots.filter((w): w is PooledWorker => w !== undefined);
        slots.fill(undefined);
        await Promise.all(
          live.map(
            (w) =>
              new Promise<void>((resolve) => {
                if (w.worker.closed) return resolve();
                w.worker.once('subprocessclose', () => resolve());
                w.worker.close();
                setTimeout(resolve, 2_000).unref();
              }),
          ),
        );
      })();
      return closing;
    },
  };
}
