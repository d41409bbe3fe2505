/**
 * What a load scenario measures, in the shape k6 would report it: trends (latency samples reduced
 * to count, p50/p95/p99/max), counters, and rates (a share of failures). Thresholds are checked
 * against the reduced numbers; a scenario passes only when every threshold holds.
 */

export interface TrendSummary {
  readonly type: 'trend';
  readonly unit: 'ms';
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}
export interface CounterSummary {
  readonly type: 'counter';
  readonly value: number;
}
export interface RateSummary {
  readonly type: 'rate';
  /** failures / total (0 when nothing was attempted). */
  readonly value: number;
  readonly total: number;
  readonly failures: number;
}
export type MetricSummary = TrendSummary | CounterSummary | RateSummary;

export class Trend {
  readonly #samples: number[] = [];
  add(ms: number): void {
    this.#samples.push(ms);
  }
  get count(): number {
    return this.#samples.length;
  }
  summary(): TrendSummary {
    const s = [...this.#samples].sort((a, b) => a - b);
    const sum = s.reduce((a, b) => a + b, 0);
    return { type: 'trend', unit: 'ms', count: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s.at(-1) ?? Number.NaN, mean: s.length === 0 ? Number.NaN : sum / s.length };
  }
}

export class Counter {
  #value = 0;
  add(n = 1): void {
    this.#value += n;
  }
  get value(): number {
    return this.#value;
  }
  summary(): CounterSummary {
    return { type: 'counter', value: this.#value };
  }
}

export class Rate {
  #total = 0;
  #failures = 0;
  add(failed: boolean): void {
    this.#total++;
    if (failed) this.#failures++;
  }
  get failures(): number {
    return this.#failures;
  }
  summary(): RateSummary {
    return { type: 'rate', value: this.#total === 0 ? 0 : this.#failures / this.#total, total: this.#total, failures: this.#failures };
  }
}

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? Number.NaN;
}

export type Stat = 'p50' | 'p95' | 'p99' | 'max' | 'count' | 'value';

export interface Threshold {
  readonly metric: string;
  readonly stat: Stat;
  readonly op: '<' | '<=' | '==';
  readonly limit: number;
}

export interface ThresholdResult extends Threshold {
  readonly condition: string;
  readonly actual: number;
  readonly pass: boolean;
}

function statOf(m: MetricSummary, stat: Stat): number {
  if (m.type === 'trend') return stat === 'value' ? Number.NaN : m[stat];
  if (stat === 'value') return m.value;
  if (stat === 'count') return m.type === 'rate' ? m.total : m.value;
  return Number.NaN;
}

/** A missing metric or an empty trend (NaN) fails its threshold: nothing measured proves nothing. */
export function checkThresholds(metrics: Readonly<Record<string, MetricSummary>>, thresholds: readonly Threshold[]): ThresholdResult[] {
  return thresholds.map((t) => {
    const m = metrics[t.metric];
    const actual = m === undefined ? Number.NaN : statOf(m, t.stat);
    const pass = Number.isFinite(actual) && (t.op === '<' ? actual < t.limit : t.op === '<=' ? actual <= t.limit : actual === t.limit);
    return { ...t, condition: `${t.stat} ${t.op} ${t.limit}`, actual, pass };
  });
}
