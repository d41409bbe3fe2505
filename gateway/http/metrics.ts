/**
 * HTTP metrics on the app's own prom-client Registry (never the global one, so several apps can
 * live in one process and tests stay independent). Labels come from closed sets only: a method
 * from the known list, the matched route PATTERN (or "unmatched"), the status code. Nothing a
 * client typed — ids, query strings, odd methods — can become a label value.
 */
import { collectDefaultMetrics, Counter, Histogram, type Registry } from 'prom-client';

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Request method as a bounded label value. */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'OTHER';
}

export const UNMATCHED_ROUTE = 'unmatched';

type Labels = 'method' | 'route' | 'status';

/** One label combination's bound children (resolving labels hashes them, so keep them). */
export interface HttpSeries {
  readonly requests: Counter.Internal;
  readonly duration: Histogram.Internal<Labels>;
}

export interface HttpMetrics {
  series(method: string, route: string, status: number): HttpSeries;
}

export function createHttpMetrics(registry: Registry): HttpMetrics {
  collectDefaultMetrics({ register: registry });
  const requests = new Counter<Labels>({
    name: 'http_requests_total',
    help: 'HTTP requests by method, matched route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram<Labels>({
    name: 'http_request_duration_seconds',
    help: 'Time from the first middleware to the response being ready, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    series(method, route, status) {
      const labels = { method, route, status: String(status) };
      return { requests: requests.labels(labels), duration: duration.labels(labels) };
    },
  };
}
