/**
 * `bench reminders`: jobs per second through the whole reminder pipeline (consent check at send
 * time, render + PHI lint, the twilio library calling a local Twilio Messages API, delivery row
 * and audit record) against a bare BullMQ no-op worker in the same run, on PostgreSQL and on the
 * embedded PGlite; the twilio library alone against the same API, as the ceiling any pipeline
 * calling it has in one process; and the time and peak RSS of a fresh process creating and
 * enqueueing a 100,000-recipient campaign. The server side runs in child processes
 * (test/bench/reminders-target.ts): this harness only starts them and reports.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { BenchResult } from './result.ts';

/** Old-space cap for the capped enqueue run (MB). */
const HEAP_CAP_MB = 160;
const TARGET = path.resolve(import.meta.dirname, '..', '..', 'test', 'bench', 'reminders-target.ts');

interface PipelineResult {
  readonly bareJobsPerSec: number;
  readonly twilioSendsPerSec: number;
  readonly pipelineJobsPerSec: number;
  readonly concurrency: number;
}

interface EnqueueResult {
  readonly recipients: number;
  readonly enqueueSeconds: number;
  readonly peakRssMb: number;
  readonly rssBeforeMb: number;
}

async function runTarget<T>(args: readonly string[], log: (line: string) => void, nodeArgs: readonly string[] = []): Promise<T> {
  const child = spawn(process.execPath, [...nodeArgs, TARGET, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'silent' } });
  let last = '';
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith('{')) last = line;
    else log(`  ${line}`);
  }
  const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
  if (code !== 0 || last === '') throw new Error(`the reminders bench target (${args.join(' ')}) failed (exit ${String(code)})`);
  return JSON.parse(last) as T;
}

export async function remindersBench(log: (line: string) => void): Promise<BenchResult> {
  log('PostgreSQL, pipeline:');
  const pg = await runTarget<PipelineResult>(['--db', 'postgres', '--phase', 'pipeline'], log);
  log('PGlite, pipeline:');
  const lite = await runTarget<PipelineResult>(['--db', 'pglite', '--phase', 'pipeline'], log);
  log('PostgreSQL, 100,000-recipient campaign:');
  const pgBig = await runTarget<EnqueueResult>(['--db', 'postgres', '--phase', 'enqueue'], log);
  // V8 lets the heap grow lazily when nothing limits it: the same run under a heap cap (as a
  // container memory limit or NODE_OPTIONS would set) shows what the campaign really needs.
  log(`PostgreSQL, 100,000-recipient campaign, heap capped (--max-old-space-size=${HEAP_CAP_MB}):`);
  const pgCapped = await runTarget<EnqueueResult>(['--db', 'postgres', '--phase', 'enqueue'], log, [`--max-old-space-size=${HEAP_CAP_MB}`]);
  log('PGlite, 100,000-recipient campaign:');
  const liteBig = await runTarget<EnqueueResult>(['--db', 'pglite', '--phase', 'enqueue'], log);

  const ratio = (r: PipelineResult): string => (r.pipelineJobsPerSec / r.bareJobsPerSec).toFixed(3);
  const rss = (r: EnqueueResult): string => `${r.peakRssMb.toFixed(0)} MB (${r.rssBeforeMb.toFixed(0)} MB before)`;
  log('');
  log(`| measure (concurrency ${pg.concurrency}) | PostgreSQL | PGlite | target |`);
  log('|---|---|---|---|');
  log(`| pipeline jobs/s | ${pg.pipelineJobsPerSec.toFixed(0)} | ${lite.pipelineJobsPerSec.toFixed(0)} | |`);
  log(`| bare BullMQ no-op jobs/s | ${pg.bareJobsPerSec.toFixed(0)} | ${lite.bareJobsPerSec.toFixed(0)} | |`);
  log(`| ratio | ${ratio(pg)} | ${ratio(lite)} | >= 0.4 |`);
  log(`| twilio library alone, sends/s (ceiling) | ${pg.twilioSendsPerSec.toFixed(0)} | ${lite.twilioSendsPerSec.toFixed(0)} | |`);
  log(`| ceiling / bare | ${(pg.twilioSendsPerSec / pg.bareJobsPerSec).toFixed(3)} | ${(lite.twilioSendsPerSec / lite.bareJobsPerSec).toFixed(3)} | |`);
  log(`| pipeline / ceiling | ${(pg.pipelineJobsPerSec / pg.twilioSendsPerSec).toFixed(3)} | ${(lite.pipelineJobsPerSec / lite.twilioSendsPerSec).toFixed(3)} | |`);
  log(`| enqueue ${pgBig.recipients.toLocaleString('en-US')} recipients | ${pgBig.enqueueSeconds.toFixed(1)} s | ${liteBig.enqueueSeconds.toFixed(1)} s | < 60 s |`);
  log(`| peak RSS of the enqueueing process | ${rss(pgBig)} | ${rss(liteBig)} (database in-process) | < 300 MB |`);
  log(`| same, heap capped at ${HEAP_CAP_MB} MB | ${rss(pgCapped)}, ${pgCapped.enqueueSeconds.toFixed(1)} s | | < 300 MB |`);
  return { bench: 'reminders', value: Math.round(pg.pipelineJobsPerSec), unit: 'jobs/s', baseline: Math.round(pg.bareJobsPerSec), ratio: Number(ratio(pg)) };
}
