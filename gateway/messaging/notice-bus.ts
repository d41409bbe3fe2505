/**
 * Cross-instance delivery notices over Redis pub/sub: after a send commits, the gateway that
 * took it publishes which (user, device) has new envelopes; every gateway (itself included)
 * hears it on a dedicated subscriber connection and pushes to its local sockets for that device.
 *
 * Notices carry ids and seqs, never ciphertext: the receiving gateway reads the rows from the
 * database after its own cursor. That keeps pub/sub traffic tiny, keeps message content out of
 * Redis, and makes a lost or late notice harmless — the next notice (or the next subscribe)
 * picks up everything committed, in seq order. `frame` notices carry a small server frame for a
 * device (`keys.low`), delivered the same way.
 */
import { z } from 'zod';
import type { Logger } from '../../core/log/logger.ts';
import { DeviceId, EnvelopeId, UserId } from '../../core/protocol/messaging.ts';
import type { Redis } from '../../core/redis/connect.ts';
import type { OutboundFrame } from '../ws/ws-client.ts';

const FrameSchema = z.looseObject({ type: z.string().min(1).max(64) });

export const Notice = z.discriminatedUnion('k', [
  z.strictObject({
    k: z.literal('env'),
    u: UserId,
    e: z.array(z.strictObject({ d: DeviceId, id: EnvelopeId, s: z.number().int().min(1) })).min(1).max(127),
  }),
  z.strictObject({ k: z.literal('frame'), u: UserId, d: DeviceId, f: FrameSchema }),
]);
export type Notice = z.infer<typeof Notice>;

/** A frame notice larger than this is refused at publish (they are meant to be tiny). */
const MAX_NOTICE_BYTES = 16 * 1024;

export interface NoticeBus {
  /** Resolves once subscribed (rejects if subscribing failed; the failure is also logged). */
  readonly ready: Promise<void>;
  publish(notice: Notice): Promise<void>;
  /** Idempotent: unsubscribes and quits the subscriber connection. */
  close(): Promise<void>;
}

export interface NoticeBusDeps {
  /** The shared command connection (publishes); a duplicate is made for subscribing. */
  readonly redis: Redis;
  readonly channel: string;
  readonly log: Logger;
  readonly onNotice: (notice: Notice) => void;
}

export function createNoticeBus(deps: NoticeBusDeps): NoticeBus {
  const { redis, channel, log } = deps;
  const sub = redis.duplicate();
  sub.on('error', (err: unknown) => log.warn({ err }, 'messaging notice subscriber error'));
  sub.on('message', (ch: string, text: string) => {
    if (ch !== channel) return;
    let parsed: ReturnType<typeof Notice.safeParse>;
    try {
      parsed = Notice.safeParse(JSON.parse(text));
    } catch {
      return log.warn({ channel }, 'messaging notice is not JSON; ignored');
    }
    if (!parsed.success) return log.warn({ channel }, 'messaging notice has an unexpected shape; ignored');
    try {
      deps.onNotice(parsed.data);
    } catch (err) {
      log.error({ err }, 'messaging notice handler failed');
    }
  });
  const ready = sub.subscribe(channel).then(() => undefined);
  ready.catch((err: unknown) => log.error({ err }, 'messaging notices: subscribing failed; live delivery across gateways is off'));

  let closed: Promise<void> | undefined;
  return {
    ready,
    async publish(notice) {
      const text = JSON.stringify(notice);
      if (Buffer.byteLength(text) > MAX_NOTICE_BYTES) throw new Error('messaging notice too large');
      await redis.publish(channel, text);
    },
    close() {
      closed ??= (async () => {
        // Settled either way before tearing down (its failure was logged above).
        await ready.then(
          () => sub.unsubscribe(channel),
          () => undefined,
        );
        if (sub.status !== 'end') await sub.quit();
      })();
      return closed;
    },
  };
}

/** A frame notice for one device. */
export function frameNotice(userId: string, deviceId: number, frame: OutboundFrame): Notice {
  return { k: 'frame', u: userId, d: deviceId, f: { ...frame } };
}
