/**
 * Periodic checkpoints for a long-running process. One checkpoint at a time (the next is scheduled
 * when the previous settles), failures go to `onError` and never become unhandled rejections, and
 * `stop()` is idempotent and waits for a checkpoint in flight so shutdown can close the database
 * afterwards. The timer is unref'd: it never keeps a process alive on its own.
 */
import type { Checkpoint, Checkpointer } from './checkpoint.ts';

export interface CheckpointTimerOptions {
  /** Milliseconds between checkpoints; 0 disables the timer (AUDIT_CHECKPOINT_INTERVAL_SEC=0). */
  readonly intervalMs: number;
  /** Called with each failure; the timer keeps running. */
  readonly onError: (err: unknown) => void;
  readonly onCheckpoint?: (cp: Checkpoint) => void;
}

export interface CheckpointTimer {
  stop(): Promise<void>;
}

export function startCheckpointTimer(checkpointer: Checkpointer, opts: CheckpointTimerOptions): CheckpointTimer {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  const report = (err: unknown): void => {
    try {
      opts.onError(err);
    } catch (listenerErr) {
      // The error listener itself failed: still surface both, without killing the process.
      process.emitWarning(`audit checkpoint failed and its onError handler threw: ${String(listenerErr)}`, { detail: String(err) });
    }
  };

  const tick = async (): Promise<void> => {
    try {
      const cp = await checkpointer.checkpoint();
      if (cp) opts.onCheckpoint?.(cp);
    } catch (err) {
      report(err);
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      inFlight = tick().finally(() => {
        inFlight = undefined;
        schedule();
      });
    }, opts.intervalMs);
    timer.unref();
  };

  if (opts.intervalMs > 0) schedule();

  return {
    stop() {
      stopping ??= (async () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        timer = undefined;
        await inFlight;
      })();
      return stopping;
    },
  };
}
