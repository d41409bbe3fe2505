/**
 * The media layer's public API (the only file gateway/ may import): a pool of mediasoup workers
 * and rooms placed on the least-loaded one. Everything about who may see whom is decided by the
 * caller through a room's admission calls; the room enforces it on every consume.
 */
import { availableParallelism } from 'node:os';
import type { Config } from '../core/config/schema.ts';
import type { Logger } from '../core/log/logger.ts';
import type { RoomCloseReason } from '../core/protocol/video.ts';
import { createMediaRoom, type MediaRoom, type MediaRoomHooks } from './room.ts';
import { resolveWorkerBin } from './worker-binary.ts';
import { createWorkerPool, type PooledWorker, type WorkerPool } from './worker-pool.ts';

export type { ConsumerInfo, MediaRoom, MediaRoomHooks, TransportInfo } from './room.ts';
export { MediaError, MediaUnavailableError } from './errors.ts';
export { WorkerBinaryMissingError } from './worker-binary.ts';

export type MediaConfig = Pick<
  Config,
  'mediaWorkers' | 'mediaWorkerBin' | 'rtcMinPort' | 'rtcMaxPort' | 'rtcListenIp' | 'rtcAnnouncedAddress' | 'rtcMaxIncomingBitrate' | 'listenHost'
>;

export interface WorkerInfo {
  readonly pid: number;
  readonly slot: number;
  readonly load: number;
}

export interface MediaService {
  /** Starts the workers. Throws WorkerBinaryMissingError (with what to do) when there is no binary. */
  start(): Promise<void>;
  /** A new room on the least-loaded live worker. MediaUnavailableError when none is alive. */
  openRoom(id: string, hooks: MediaRoomHooks): Promise<MediaRoom>;
  workers(): readonly WorkerInfo[];
  /** Called when a worker died (its rooms have already been told `worker-died`). */
  onWorkerDied(fn: (pid: number) => void): () => void;
  /** Idempotent: closes every room with `shutdown`, then the workers. */
  close(): Promise<void>;
}

export function createMediaService(config: MediaConfig, log: Logger): MediaService {
  const size = config.mediaWorkers === 0 ? availableParallelism() : config.mediaWorkers;
  let pool: WorkerPool | undefined;
  const rooms = new Set<MediaRoom>();
  const diedFns = new Set<(pid: number) => void>();
  let closing: Promise<void> | undefined;
  const listenIp = config.rtcListenIp ?? (config.listenHost === '::' ? '0.0.0.0' : config.listenHost);
  const listen = {
    ip: listenIp,
    announcedAddress: config.rtcAnnouncedAddress,
    maxIncomingBitrate: config.rtcMaxIncomingBitrate,
  };
  const live = (): WorkerPool => {
    if (pool === undefined || closing !== undefined) throw new Error('media service is not running');
    return pool;
  };

  return {
    async start() {
      if (pool !== undefined) return;
      const workerBin = resolveWorkerBin(config.mediaWorkerBin);
      if ((listen.ip === '0.0.0.0' || listen.ip === '::') && listen.announcedAddress === undefined) {
        log.warn({ listenIp: listen.ip }, 'media listens on a wildcard address without RTC_ANNOUNCED_ADDRESS: browsers cannot reach it; set RTC_ANNOUNCED_ADDRESS');
      }
      pool = createWorkerPool({ size, workerBin, rtcMinPort: config.rtcMinPort, rtcMaxPort: config.rtcMaxPort, log });
      pool.onDied((w: PooledWorker) => {
        // The router's own workerclose closes each room; this catches rooms still being created.
        for (const r of rooms) if (r.workerPid === w.pid) r.close('worker-died');
        for (const fn of diedFns) fn(w.pid);
      });
      await pool.start();
    },

    async openRoom(id, hooks) {
      const worker = live().pick();
      const room = await createMediaRoom(
        id,
        worker,
        listen,
        {
          send: (peerId, event) => hooks.send(peerId, event),
          closed: (reason: RoomCloseReason) => {
            rooms.delete(room);
            hooks.closed(reason);
          },
        },
        log,
      );
      rooms.add(room);
      if (worker.worker.died) room.close('worker-died');
      return room;
    },

    workers() {
      return (pool?.workers ?? []).map((w) => ({ pid: w.pid, slot: w.slot, load: w.load }));
    },

    onWorkerDied(fn) {
      diedFns.add(fn);
      return () => diedFns.delete(fn);
    },

    close() {
      closing ??= (async () => {
        for (const r of [...rooms]) r.close('shutdown');
        rooms.clear();
        await pool?.close();
      })();
      return closing;
    },
  };
}
