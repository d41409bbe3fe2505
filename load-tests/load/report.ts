/**
 * The end of a load run: a human table on stdout and a JSON summary file (per-metric numbers,
 * thresholds with their actual values, pass/fail, and the machine it ran on), so a later run on
 * the same machine can be compared with this one.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import type { MetricSummary, ThresholdResult } from './metrics.ts';

export interface RunSummary {
  readonly scenario: string;
  readonly startedAt: string;
  readonly seconds: number;
  readonly options: Readonly<Record<string, number>>;
  readonly machine: {
    readonly cpus: number;
    readonly memoryGiB: number;
    readonly node: string;
    readonly platform: string;
    /** 1-minute load average before and after: other work on the machine skews every number. */
    readonly loadAvg1m: { readonly start: number; readonly end: number };
  };
  /** What the scenario set up and how (deployment settings that differ from the defaults). */
  readonly notes: readonly string[];
  readonly metrics: Readonly<Record<string, MetricSummary>>;
  readonly thresholds: readonly ThresholdResult[];
  readonly pass: boolean;
}

export function loadAverage(): number {
  return Math.round((loadavg()[0] ?? Number.NaN) * 100) / 100;
}

export function machineFacts(loadAtStart: number): RunSummary['machine'] {
  return {
    cpus: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAvg1m: { start: loadAtStart, end: loadAverage() },
  };
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

export function renderTable(s: RunSummary): string {
  const rows: string[][] = [['metric', 'count', 'p50', 'p95', 'p99', 'max', 'value']];
  for (const [name, m] of Object.entries(s.metrics)) {
    if (m.type === 'trend') rows.push([`${name} (ms)`, String(m.count), fmt(m.p50), fmt(m.p95), fmt(m.p99), fmt(m.max), '']);
    else if (m.type === 'counter') rows.push([name, '', '', '', '', '', String(m.value)]);
    else rows.push([name, String(m.total), '', '', '', '', `${fmt(m.value * 100, 2)}% (${m.failures} failed)`]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  const opts = Object.entries(s.options).map(([k, v]) => `${k}=${v}`).join(' ');
  const out = [
    `scenario ${s.scenario} (${opts}) — ${fmt(s.seconds)} s on ${s.machine.cpus} CPUs, ${s.machine.memoryGiB} GiB, Node ${s.machine.node}, load average ${s.machine.loadAvg1m.start} → ${s.machine.loadAvg1m.end}`,
    ...s.notes.map((n) => `  note: ${n}`),
    '',
    line(rows[0] ?? []),
    ...rows.slice(1).map(line),
    '',
    'thresholds:',
    ...s.thresholds.map((t) => `  ${t.pass ? 'PASS' : 'FAIL'}  ${t.metric} ${t.condition}  (actual ${Number.isInteger(t.actual) ? String(t.actual) : fmt(t.actual, t.actual < 1 ? 4 : 1)})`),
    '',
    `result: ${s.pass ? 'PASS' : 'FAIL'}`,
  ];
  return `${out.join('\n')}\n`;
}

export async function writeSummary(file: string, s: RunSummary): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  // NaN (an empty trend) is not JSON: written as null.
  await writeFile(file, `${JSON.stringify(s, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
}
