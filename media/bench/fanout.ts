/**
 * The mediasoup side of `bench media`: one worker (one core), one router with the rooms' codecs,
 * one VP8 producer on a PlainTransport fed in clear by the bench (comedia: the worker learns the
 * sender's address from its first packet), and N consumers, each on its own PlainTransport with
 * SRTP on, so the worker encrypts and authenticates every packet once per consumer as it does for
 * a browser. Consumers send to the sink addresses the bench gives, spread round-robin.
 */
import { randomBytes } from 'node:crypto';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { MEDIA_CODECS } from '../codecs.ts';
import { resolveWorkerBin } from '../worker-binary.ts';

export const SRTP_SUITE = 'AES_CM_128_HMAC_SHA1_80' as const satisfies types.SrtpCryptoSuite;
const LOOPBACK = '127.0.0.1';
/** Consumers created concurrently: enough to hide the channel round trip, few enough to keep it orderly. */
const CREATE_BATCH = 50;

export interface UdpAddress {
  readonly ip: string;
  readonly port: number;
}

export interface ProducerSpec {
  readonly ssrc: number;
  readonly payloadType: number;
}

export interface Fanout {
  /** The worker's OS process id, for CPU readings from /proc. */
  readonly workerPid: number;
  /** Creates the producer; returns where to send its RTP. Once only. */
  produce(spec: ProducerSpec): Promise<UdpAddress>;
  /** Grows or shrinks to exactly `count` consumers; returns every consumer's SSRC, in creation order. */
  setConsumers(count: number, sinks: readonly UdpAddress[]): Promise<number[]>;
  close(): void;
}

interface Leg {
  readonly transport: types.PlainTransport;
  readonly ssrc: number;
}

export interface FanoutOptions {
  /** Defaults to resolveWorkerBin(). */
  readonly workerBin?: string;
  /** The worker process died under us: nothing more will be forwarded. */
  readonly onDied?: (err: Error) => void;
}

export async function createFanout(options: FanoutOptions = {}): Promise<Fanout> {
  const worker = await mediasoup.createWorker({ workerBin: options.workerBin ?? resolveWorkerBin(), logLevel: 'warn' });
  if (options.onDied !== undefined) worker.on('died', options.onDied);
  let closed = false;
  try {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    let producer: types.Producer | undefined;
    const legs: Leg[] = [];

    const addLeg = async (producerId: string, sink: UdpAddress): Promise<Leg> => {
      const transport = await router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: LOOPBACK },
        rtcpMux: true,
        comedia: false,
        enableSrtp: true,
        srtpCryptoSuite: SRTP_SUITE,
      });
      try {
        // The key the sink would use to send to us; the sink sends nothing, but SRTP needs both.
        await transport.connect({ ip: sink.ip, port: sink.port, srtpParameters: { cryptoSuite: SRTP_SUITE, keyBase64: randomBytes(30).toString('base64') } });
        const consumer = await transport.consume({ producerId, rtpCapabilities: router.rtpCapabilities });
        const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
        if (ssrc === undefined) throw new Error('consumer has no SSRC');
        return { transport, ssrc };
      } catch (err) {
        transport.close();
        throw err;
      }
    };

    return {
      workerPid: worker.pid,
      async produce(spec) {
        if (producer !== undefined) throw new Error('the producer exists already');
        const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: LOOPBACK }, rtcpMux: true, comedia: true });
        producer = await transport.produce({
          kind: 'video',
          rtpParameters: {
            codecs: [
              {
                mimeType: 'video/VP8',
                payloadType: spec.payloadType,
                clockRate: 90000,
                rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
              },
            ],
            encodings: [{ ssrc: spec.ssrc }],
          },
        });
        return { ip: transport.tuple.localAddress ?? LOOPBACK, port: transport.tuple.localPort };
      },
      async setConsumers(count, sinks) {
        if (producer === undefined) throw new Error('no producer yet');
        if (sinks.length === 0) throw new Error('no sinks');
        const producerId = producer.id;
        const sinkFor = (i: number): UdpAddress => sinks[i % sinks.length] ?? { ip: LOOPBACK, port: 0 };
        while (legs.length > count) legs.pop()?.transport.close();
        while (legs.length < count) {
          const start = legs.length;
          const batch = Math.min(CREATE_BATCH, count - start);
          legs.push(...(await Promise.all(Array.from({ length: batch }, (_, i) => addLeg(producerId, sinkFor(start + i))))));
        }
        return legs.map((l) => l.ssrc);
      },
      close() {
        if (closed) return;
        closed = true;
        worker.close();
      },
    };
  } catch (err) {
    closed = true;
    worker.close();
    throw err;
  }
}
