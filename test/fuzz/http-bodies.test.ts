/**
 * Fuzzes every operation the gateway documents in its own /openapi.json (so a new route is
 * covered the day it is added) over a real socket: path parameters, query strings and bodies from
 * fast-check (declared keys with wrong types, any JSON, huge strings, deep nesting, unicode,
 * malformed bytes, wrong content types), sent anonymously or with a fresh session of any role.
 * Every answer must be < 500, an error must be `{error:{code,message}}` JSON with no stack trace
 * or internal detail, and every answer must come within a deadline. Failures are collected per
 * operation with fast-check's (shrunk) counterexample; FUZZ_SEED=<seed> replays a run.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyFor, FUZZ_SEED, operationsOf, pathValue, queryFor, RAW_PATH_VALUES, type Operation } from './arbitraries.ts';
import { answerProblem, CALLERS, startFuzzWorld, timedFetch, type FuzzWorld } from './fuzz-world.ts';

const RUNS_PER_OPERATION = Number(process.env['FUZZ_RUNS'] ?? 15);
/** Far above what any answer takes here; a request slower than this is treated as hung. */
const DEADLINE_MS = 5_000;

let world: FuzzWorld;
beforeAll(async () => {
  world = await startFuzzWorld();
});
afterAll(async () => {
  await world.close();
});

function urlFor(op: Operation, params: Record<string, string>, query: [string, string][]): string {
  const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = params[name] ?? 'x';
    // Pre-encoded hostile segments go as they are; anything else is encoded (lone surrogates made well-formed first).
    return RAW_PATH_VALUES.includes(v) ? v : encodeURIComponent(v.toWellFormed());
  });
  const qs = new URLSearchParams(query).toString();
  return `${world.url}${path}${qs === '' ? '' : `?${qs}`}`;
}

describe('HTTP fuzzing of every documented operation', () => {
  it('answers every fuzzed request with < 500, a JSON error body when refused, no internal detail, in time', async () => {
    const doc = await timedFetch(`${world.url}/openapi.json`, {}, DEADLINE_MS);
    expect(doc.status).toBe(200);
    const ops = operationsOf(JSON.parse(doc.text));
    // A broken document (or one this reader cannot walk) must not pass as "nothing to fuzz".
    expect(ops.length).toBeGreaterThan(60);
    expect(ops.some((o) => o.path === '/v1/devices' && o.method === 'POST' && o.bodyKeys.includes('identityKey'))).toBe(true);

    const failures: string[] = [];
    let requests = 0;
    let slowest = 0;
    const started = performance.now();
    for (const op of ops) {
      const params = fc.record<Record<string, string>>(Object.fromEntries(op.pathParams.map((p) => [p, pathValue])));
      const details = await fc.check(
        fc.asyncProperty(fc.constantFrom(...CALLERS), params, queryFor(op), bodyFor(op), async (caller, pathParams, query, body) => {
          const token = await world.token(caller);
          const headers: Record<string, string> = {};
          if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
          if (body.contentType !== undefined && body.contentType !== '') headers['content-type'] = body.contentType;
          const sendsBody = body.bytes !== undefined && op.method !== 'GET';
          requests++;
          const a = await timedFetch(urlFor(op, pathParams, query), { method: op.method, headers, ...(sendsBody ? { body: body.bytes } : {}) }, DEADLINE_MS);
          slowest = Math.max(slowest, a.ms);
          const problem = answerProblem(a, op.responseTypes[String(a.status)]);
          if (problem !== undefined) throw new Error(`${caller}, ${body.kind}: ${problem}`);
        }),
        { numRuns: RUNS_PER_OPERATION, seed: FUZZ_SEED, timeout: DEADLINE_MS + 1_000, interruptAfterTimeLimit: 20_000 },
      );
      if (details.failed) failures.push(`${op.method} ${op.path}: ${String(details.errorInstance).slice(0, 400)}\n${(fc.defaultReportMessage(details) ?? '').slice(0, 1_200)}`);
    }
    // The numbers the issue asks for, in the test output.
    console.info(`http fuzz: ${ops.length} operations, ${requests} requests, seed ${FUZZ_SEED}, slowest ${Math.round(slowest)} ms, ${Math.round(performance.now() - started)} ms`);
    expect(failures, failures.join('\n\n')).toEqual([]);
    // The gateway is still healthy after all of it.
    expect((await timedFetch(`${world.url}/healthz`, {}, DEADLINE_MS)).status).toBe(200);
  }, 120_000);
});
