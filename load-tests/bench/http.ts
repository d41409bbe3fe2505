/**
 * `bench http`: requests per second of a zod-validated JSON route through the gateway's full
 * middleware stack, against a raw node:http hello server measured in the same run. Both are
 * child processes on loopback sent the identical POST; runs alternate baseline/target so
 * machine drift hits both, and the medians are compared.
 */
import path from 'node:path';
import { startChildServer, type ChildServer } from './child-server.ts';
import { CONNECTIONS, median, runLoad, type LoadResult, type LoadSpec } from './load.ts';
import type { BenchResult } from './result.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BASELINE_SCRIPT = path.join(ROOT, 'load-tests', 'bench', 'raw-hello-server.ts');
const TARGET_SCRIPT = path.join(ROOT, 'gateway', 'bench', 'http-target.ts');

const WARMUP_SECONDS = 3;
const RUN_SECONDS = 6;
const ROUNDS = 3;

/** Matches the bench route's strict schema (gateway/bench/echo-route.ts). */
const BODY = JSON.stringify({ kind: 'reminder', ref: 'appt-7f3a9c21', priority: 2, tags: ['follow-up', 'video'], flags: { urgent: false, followUp: true } });

function specFor(server: ChildServer, pathname: string): LoadSpec {
  return { url: `http://127.0.0.1:${server.port}${pathname}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY };
}

async function expectOk(spec: LoadSpec): Promise<void> {
  const res = await fetch(spec.url, { method: spec.method, headers: spec.headers, body: spec.body ?? null });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${spec.url} answered ${res.status}: ${text.slice(0, 200)}`);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function httpBench(log: (line: string) => void): Promise<BenchResult> {
  const started: ChildServer[] = [];
  try {
    const baseline = await startChildServer('raw node:http hello', BASELINE_SCRIPT);
    started.push(baseline);
    const target = await startChildServer('gateway POST /bench/echo', TARGET_SCRIPT);
    started.push(target);
    const baseSpec = specFor(baseline, '/');
    const targetSpec = specFor(target, '/bench/echo');
    await expectOk(baseSpec);
    await expectOk(targetSpec);

    log(`warming up (${WARMUP_SECONDS} s each), then ${ROUNDS} alternating rounds of ${RUN_SECONDS} s, ${CONNECTIONS} connections`);
    await runLoad(baseSpec, WARMUP_SECONDS);
    await runLoad(targetSpec, WARMUP_SECONDS);

    const base: LoadResult[] = [];
    const gate: LoadResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first so a slow phase of the machine does not always hit the same side.
      const order = round % 2 === 0 ? ([[baseSpec, base], [targetSpec, gate]] as const) : ([[targetSpec, gate], [baseSpec, base]] as const);
      for (const [spec, into] of order) into.push(await runLoad(spec, RUN_SECONDS));
      const b = base[round];
      const g = gate[round];
      if (b !== undefined && g !== undefined) log(`round ${round + 1}: baseline ${fmt(b.reqPerSec)} req/s, gateway ${fmt(g.reqPerSec)} req/s`);
    }

    const baseRate = median(base.map((r) => r.reqPerSec));
    const gateRate = median(gate.map((r) => r.reqPerSec));
    log('');
    log('server                          req/s (median)   p50 ms   p99 ms');
    log(`${baseline.name.padEnd(32)}${fmt(baseRate).padStart(14)}${String(median(base.map((r) => r.p50Ms))).padStart(9)}${String(median(base.map((r) => r.p99Ms))).padStart(9)}`);
    log(`${target.name.padEnd(32)}${fmt(gateRate).padStart(14)}${String(median(gate.map((r) => r.p50Ms))).padStart(9)}${String(median(gate.map((r) => r.p99Ms))).padStart(9)}`);
    log(`ratio ${(gateRate / baseRate).toFixed(3)} (target >= 0.6)`);

    return { bench: 'http', value: Math.round(gateRate), unit: 'req/s', baseline: Math.round(baseRate), ratio: Math.round((gateRate / baseRate) * 1000) / 1000 };
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
}
