/**
 * Watches the call's transports: when one stays 'disconnected' for a few seconds (or goes
 * 'failed') it asks the server for fresh ICE parameters and restarts ICE on it, repeating while
 * the transport stays down. Reports whether any transport is currently down, for the page's
 * "reconnecting…" indicator.
 */
import type { types } from 'mediasoup-client';

const DISCONNECTED_GRACE_MS = 3_000;
const RETRY_MS = 5_000;

export interface IceWatch {
  watch(transport: types.Transport): void;
  /** Stop all timers (the transports are being closed). */
  clear(): void;
}

export function createIceWatch(restart: (transportId: string) => Promise<types.IceParameters>, onDown: (down: boolean) => void): IceWatch {
  const timers = new Map<string, number>();
  const down = new Set<string>();
  const report = (): void => onDown(down.size > 0);

  const schedule = (t: types.Transport, delayMs: number): void => {
    if (timers.has(t.id)) return;
    timers.set(
      t.id,
      window.setTimeout(() => {
        timers.delete(t.id);
        if (t.closed || t.connectionState === 'connected' || t.connectionState === 'new' || t.connectionState === 'connecting') return;
        restart(t.id)
          .then((iceParameters) => (t.closed ? undefined : t.restartIce({ iceParameters })))
          .catch((err: unknown) => console.warn('ICE restart failed; retrying', err))
          .finally(() => {
            if (!t.closed && down.has(t.id)) schedule(t, RETRY_MS);
          });
      }, delayMs),
    );
  };

  return {
    watch(t) {
      t.on('connectionstatechange', (state) => {
        if (state === 'failed' || state === 'disconnected') {
          down.add(t.id);
          report();
          schedule(t, state === 'failed' ? 0 : DISCONNECTED_GRACE_MS);
        } else if (state === 'connected' || state === 'closed') {
          down.delete(t.id);
          const timer = timers.get(t.id);
          if (timer !== undefined) window.clearTimeout(timer);
          timers.delete(t.id);
          report();
        }
      });
    },
    clear() {
      for (const timer of timers.values()) window.clearTimeout(timer);
      timers.clear();
      down.clear();
      report();
    },
  };
}
