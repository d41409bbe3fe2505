/**
 * What the receive side of a call is getting, from the recv transport's getStats(): decoded video
 * frames and received audio (for the page's tests, `window.__visitStats`) and a coarse
 * connection-quality grade from inbound-video packet loss and the transport round-trip time.
 */

export const Quality = { good: 'good', fair: 'fair', poor: 'poor', unknown: 'unknown' } as const;
export type Quality = (typeof Quality)[keyof typeof Quality];

export interface VisitStats {
  readonly videoFramesDecoded: number;
  readonly videoFrameWidth: number;
  readonly audioBytesReceived: number;
  readonly audioSamplesReceived: number;
  readonly videoPacketsReceived: number;
  readonly videoPacketsLost: number;
  /** Current round-trip time of the selected candidate pair, ms (0 when unknown). */
  readonly rttMs: number;
}

export const EMPTY_STATS: VisitStats = {
  videoFramesDecoded: 0,
  videoFrameWidth: 0,
  audioBytesReceived: 0,
  audioSamplesReceived: 0,
  videoPacketsReceived: 0,
  videoPacketsLost: 0,
  rttMs: 0,
};

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function summarize(report: RTCStatsReport): VisitStats {
  let framesDecoded = 0;
  let frameWidth = 0;
  let audioBytes = 0;
  let audioSamples = 0;
  let packetsReceived = 0;
  let packetsLost = 0;
  let rtt = 0;
  report.forEach((s: Record<string, unknown>) => {
    if (s['type'] === 'inbound-rtp' && s['kind'] === 'video') {
      framesDecoded += num(s['framesDecoded']);
      frameWidth = Math.max(frameWidth, num(s['frameWidth']));
      packetsReceived += num(s['packetsReceived']);
      packetsLost += num(s['packetsLost']);
    } else if (s['type'] === 'inbound-rtp' && s['kind'] === 'audio') {
      audioBytes += num(s['bytesReceived']);
      audioSamples += num(s['totalSamplesReceived']);
    } else if (s['type'] === 'candidate-pair' && (s['nominated'] === true || s['selected'] === true) && s['state'] === 'succeeded') {
      rtt = Math.max(rtt, num(s['currentRoundTripTime']) * 1000);
    }
  });
  return {
    videoFramesDecoded: framesDecoded,
    videoFrameWidth: frameWidth,
    audioBytesReceived: audioBytes,
    audioSamplesReceived: audioSamples,
    videoPacketsReceived: packetsReceived,
    videoPacketsLost: packetsLost,
    rttMs: Math.round(rtt),
  };
}

/** Grade the interval between two samples: loss over the interval, the latest RTT. */
export function grade(prev: VisitStats, next: VisitStats): Quality {
  const received = next.videoPacketsReceived - prev.videoPacketsReceived;
  const lost = Math.max(0, next.videoPacketsLost - prev.videoPacketsLost);
  if (received + lost <= 0) return Quality.unknown;
  const loss = lost / (received + lost);
  if (loss < 0.02 && next.rttMs < 300) return Quality.good;
  if (loss < 0.08 && next.rttMs < 700) return Quality.fair;
  return Quality.poor;
}
