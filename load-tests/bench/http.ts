/**
 * `bench http`: requests per second of a session-authenticated, zod-validated JSON route through
 * the gateway's full middleware stack, against a raw node:http hello server measured in the same run. All servers
 * are child processes on loopback sent the identical POST; runs rotate between them so machine
 * drift hits each, and medians are compared. Two informational rows split the gap: raw node:http
 * doing the same mandated work by hand (body parse, security headers, ids), and bare Hono on
 * @hono/node-server parsing the same body.
 */
import path from 'node:path';
import { startChildServer, type ChildServer } from './child-server.ts';
import { CONNECTIONS, median, runLoad, type LoadResult, type LoadSpec } from './load.ts';
import type { BenchResult } from './result.ts';

const HERE = import.meta.dirname;
const ROOT = path.resolve(HERE, '..', '..');

const WARMUP_SECONDS = 3;
const RUN_SECONDS = 6;
const ROUNDS = 3;

/** Matches the bench route's strict schema (gateway/bench/echo-route.ts). */
const BODY = JSON.stringify({ kind: 'reminder', ref: 'appt-7f3a9c21', priority: 2, tags: ['follow-up', 'video'], flags: { urgent: false, followUp: true } });

interface Subject {
  readonly name: string;
  readonly script: string;
  readonly path: string;
}

const BASELINE: Subject = { name: 'raw node:http hello', script: path.join(HERE, 'raw-hello-server.ts'), path: '/' };
const SAME_WORK: Subject = { name: 'raw node:http, same work (ref.)', script: path.join(HERE, 'raw-same-work-server.ts'), path: '/' };
const FRAMEWORK: Subject = { name: 'bare hono + node-server (ref.)', script: path.join(HERE, 'hono-floor-server.ts'), path: '/' };
const TARGET: Subject = { name: 'gateway POST /bench/echo', script: path.join(ROOT, 'gateway', 'bench', 'http-target.ts'), path: '/bench/echo' };
const NO_SESSION: Subject = { name: 'gateway, no session check (ref.)', script: TARGET.script, path: '/bench/echo-open' };
const SUBJECTS = [BASELINE, SAME_WORK, FRAMEWORK, NO_SESSION, TARGET] as const;

/** Every server gets the identical request, including the session token only the gateway checks. */
function specFor(server: ChildServer, subject: Subject, token: string): LoadSpec {
  return { url: `http://127.0.0.1:${server.port}${subject.path}`, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: BODY };
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
    for (const subject of SUBJECTS) started.push(await startChildServer(subject.name, subject.script));
    const token = started[SUBJECTS.indexOf(TARGET)]?.token;
    if (token === undefined) throw new Error('the gateway bench target printed no session token');
    const specs: LoadSpec[] = [];
    for (const [i, subject] of SUBJECTS.entries()) {
      const server = started[i];
      if (server === undefined) throw new Error(`${subject.name} did not start`);
      const spec = specFor(server, subject, token);
      await expectOk(spec);
      specs.push(spec);
    }

    log(`warming up (${WARMUP_SECONDS} s each), then ${ROUNDS} rotating rounds of ${RUN_SECONDS} s each, ${CONNECTIONS} connections`);
    for (const spec of specs) await runLoad(spec, WARMUP_SECONDS);

    const results: LoadResult[][] = SUBJECTS.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate who goes first so a slow phase of the machine does not always hit the same server.
      for (let k = 0; k < specs.length; k++) {
        const i = (round + k) % specs.length;
        const spec = specs[i];
        const into = results[i];
        if (spec !== undefined && into !== undefined) into.push(await runLoad(spec, RUN_SECONDS));
      }
      log(`round ${round + 1}: ${SUBJECTS.map((s, i) => `${s.name} ${fmt(results[i]?.[round]?.reqPerSec ?? 0)}`).join(', ')} req/s`);
    }

    const rates = results.map((r) => median(r.map((x) => x.reqPerSec)));
    const baseRate = rates[0] ?? Number.NaN;
    const gateRate = rates[SUBJECTS.indexOf(TARGET)] ?? Number.NaN;
    log('');
    log(`${'server'.padEnd(34)}${'req/s (median)'.padStart(15)}${'vs raw'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}`);
    SUBJECTS.forEach((s, i) => {
      const r = results[i] ?? [];
      const rate = rates[i] ?? Number.NaN;
      log(
        `${s.name.padEnd(34)}${fmt(rate).padStart(15)}${(rate / baseRate).toFixed(3).padStart(8)}` +
          `${String(median(r.map((x) => x.p50Ms))).padStart(8)}${String(median(r.map((x) => x.p99Ms))).padStart(8)}`,
      );
    });
    const sameWork = rates[SUBJECTS.indexOf(SAME_WORK)] ?? Number.NaN;
    const open = rates[SUBJECTS.indexOf(NO_SESSION)] ?? Number.NaN;
    log(`ratio ${(gateRate / baseRate).toFixed(3)} with the session check (target >= 0.5); without it ${(open / baseRate).toFixed(3)} (target >= 0.6); gateway vs raw doing the same work: ${(gateRate / sameWork).toFixed(3)}`);

    return { bench: 'http', value: Math.round(gateRate), unit: 'req/s', baseline: Math.round(baseRate), ratio: Math.round((gateRate / baseRate) * 1000) / 1000 };
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
}
