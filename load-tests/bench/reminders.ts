/**
 * `bench reminders`: jobs per second through the whole reminder pipeline (consent check at send
 * time, render + PHI lint, the twilio library calling a local Twilio Messages API, delivery row
 * and audit record) against a bare BullMQ no-op worker in the same run, plus the time and peak
 * RSS to create and enqueue a 100,000-recipient campaign. The server side runs in one child
 * (test/bench/reminders-target.ts): this harness only starts it and reports.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { BenchResult } from './result.ts';

const TARGET = path.resolve(import.meta.dirname, '..', '..', 'test', 'bench', 'reminders-target.ts');

interface TargetResult {
  readonly bareJobsPerSec: number;
  readonly pipelineJobsPerSec: number;
  readonly sent: number;
  readonly recipients: number;
  readonly enqueueSeconds: number;
  readonly peakRssMb: number;
}

export async function remindersBench(log: (line: string) => void): Promise<BenchResult> {
  const child = spawn(process.execPath, [TARGET], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'silent' } });
  let last = '';
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith('{')) last = line;
    else log(line);
  }
  const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
  if (code !== 0 || last === '') throw new Error(`the reminders bench target failed (exit ${String(code)})`);
  const r = JSON.parse(last) as TargetResult;
  const ratio = r.pipelineJobsPerSec / r.bareJobsPerSec;
  log('');
  log('| measure | value | target |');
  log('|---|---|---|');
  log(`| pipeline jobs/s | ${r.pipelineJobsPerSec.toFixed(0)} | |`);
  log(`| bare BullMQ no-op jobs/s | ${r.bareJobsPerSec.toFixed(0)} | |`);
  log(`| ratio | ${ratio.toFixed(3)} | >= 0.4 |`);
  log(`| enqueue ${r.recipients.toLocaleString('en-US')} recipients | ${r.enqueueSeconds.toFixed(1)} s | < 60 s |`);
  log(`| peak RSS (bench process, PGlite in-process) | ${r.peakRssMb.toFixed(0)} MB | < 300 MB |`);
  return { bench: 'reminders', value: Math.round(r.pipelineJobsPerSec), unit: 'jobs/s', baseline: Math.round(r.bareJobsPerSec), ratio: Number(ratio.toFixed(3)) };
}
