/**
 * Per-request telemetry — the access-log line and the HTTP metrics — recorded off the request's
 * critical path. The frame appends a small record; a short timer (FLUSH_DELAY_MS) flushes the
 * batch, so the response is written first and pino's and prom-client's code runs in one warm loop
 * instead of interleaved with request handling. Lines keep their order and appear within a few
 * milliseconds of their response; anything pending is written when the process exits.
 *
 * Why a timer and not setImmediate: a pending immediate makes the event loop poll without
 * waiting, so under load nearly every loop turn paid an extra epoll round and a flush of one or
 * two records — ~1.5 µs of CPU per request in the http bench. A timer lets each turn block in
 * epoll as usual and batches a millisecond's worth of requests.
 *
 * Per label combination (method, route pattern, status — a small closed set) the metric children
 * and a pino child with those three fields already serialised are made once and reused, so a
 * line costs two fields (request id, duration) and counters move once per batch.
 */
import type { Logger } from '../../core/log/logger.ts';
import type { HttpMetrics, HttpSeries } from './metrics.ts';

/** How long a record may wait before its line and metrics are written. */
export const FLUSH_DELAY_MS = 5;

/** Telemetries with records waiting; written synchronously at exit and by flushAllTelemetry(). */
const waiting = new Set<RequestTelemetry>();

/** Writes every pending access line and metric now (process exit; tests). */
export function flushAllTelemetry(): void {
  for (const t of waiting) t.flush();
}

process.on('exit', flushAllTelemetry);

export interface RequestRecord {
  readonly requestId: string;
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly durationMs: number;
}

export interface RequestTelemetry {
  record(entry: RequestRecord): void;
  /** Write everything pending now. */
  flush(): void;
}

interface Series {
  readonly metrics: HttpSeries;
  readonly log: Logger;
  pending: number;
}

export function createRequestTelemetry(accessLog: Logger, metrics: HttpMetrics): RequestTelemetry {
  // route pattern → status → method label: interned strings and small ints, so a lookup hashes
  // nothing and builds no key string.
  const series = new Map<string, Map<number, Map<string, Series>>>();
  let pending: RequestRecord[] = [];
  let scheduled: NodeJS.Timeout | undefined;

  const seriesFor = (r: RequestRecord): Series => {
    let byStatus = series.get(r.route);
    if (byStatus === undefined) series.set(r.route, (byStatus = new Map<number, Map<string, Series>>()));
    let byMethod = byStatus.get(r.status);
    if (byMethod === undefined) byStatus.set(r.status, (byMethod = new Map<string, Series>()));
    let s = byMethod.get(r.method);
    if (s === undefined) {
      s = { metrics: metrics.series(r.method, r.route, r.status), log: accessLog.child({ method: r.method, route: r.route, status: r.status }), pending: 0 };
      byMethod.set(r.method, s);
    }
    return s;
  };

  const flush = (): void => {
    if (scheduled !== undefined) clearTimeout(scheduled);
    scheduled = undefined;
    waiting.delete(telemetry);
    const batch = pending;
    pending = [];
    const touched = new Set<Series>();
    for (const r of batch) {
      const s = seriesFor(r);
      s.pending++;
      touched.add(s);
      s.metrics.duration.observe(r.durationMs / 1000);
      s.log.info({ requestId: r.requestId, durationMs: r.durationMs }, 'request');
    }
    for (const s of touched) {
      s.metrics.requests.inc(s.pending);
      s.pending = 0;
    }
  };

  const telemetry: RequestTelemetry = {
    record(entry) {
      pending.push(entry);
      if (scheduled === undefined) {
        scheduled = setTimeout(flush, FLUSH_DELAY_MS);
        waiting.add(telemetry);
      }
    },
    flush,
  };
  return telemetry;
}
