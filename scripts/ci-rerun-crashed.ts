/**
 * CI only (.ci/run): when `npm test` failed solely because a test *process* died on a signal
 * (SIGSEGV and kin: a crash inside Node/V8 itself, not a failed assertion), re-run the test files
 * that were running in it, once, and report loudly. A test that failed, or a crash that happens
 * again, still fails CI. Vitest does not retry a crashed worker by itself, and its report then
 * simply lacks that file's tests.
 *
 * Why this exists: rare SIGSEGVs of a vitest fork (twice in about twenty full runs, in files that
 * open many PGlite databases on worker threads) that no single file reproduces in isolation. The
 * note of the run says so; this must not hide anything else.
 *
 * Usage: node scripts/ci-rerun-crashed.ts <test log> <vitest json report>
 * Exit 0: the crashed files passed on their re-run (the report is rewritten with their results).
 * Exit 1: nothing to do or the re-run failed — CI stays red.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

interface AssertionResult {
  readonly status: string;
}
interface FileResult {
  readonly name: string;
  readonly assertionResults: readonly AssertionResult[];
}
interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numTotalTests: number;
  testResults: FileResult[];
}

const CRASH = /Worker exited unexpectedly with signal (SIG[A-Z]+) during \w+ state while running test file (\S+)/g;
const FATAL_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGABRT', 'SIGFPE']);

function count(files: readonly FileResult[], status: string): number {
  return files.reduce((n, f) => n + f.assertionResults.filter((a) => a.status === status).length, 0);
}

function main(): number {
  const [logFile, reportFile] = process.argv.slice(2);
  if (logFile === undefined || reportFile === undefined) {
    process.stderr.write('usage: node scripts/ci-rerun-crashed.ts <test log> <vitest json report>\n');
    return 1;
  }
  const log = readFileSync(logFile, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
  const crashes = [...log.matchAll(CRASH)].map((m) => ({ signal: m[1] ?? '', file: m[2] ?? '' }));
  if (crashes.length === 0 || crashes.some((c) => !FATAL_SIGNALS.has(c.signal))) return 1;
  const first = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  if (first.numFailedTests > 0) return 1;

  const files = [...new Set(crashes.map((c) => path.relative(process.cwd(), c.file)))];
  const banner = '!'.repeat(100);
  process.stdout.write(`\n${banner}\nA test process crashed (${crashes.map((c) => `${c.signal} in ${path.relative(process.cwd(), c.file)}`).join(', ')}).\n` + `No test failed. Re-running the crashed file(s) once: ${files.join(' ')}\n${banner}\n`);
  const rerunReport = `${reportFile}.rerun.json`;
  const rerun = spawnSync('npx', ['vitest', 'run', ...files], { stdio: 'inherit', env: { ...process.env, VITEST_JSON_OUT: rerunReport } });
  if (rerun.status !== 0) {
    process.stdout.write(`${banner}\nThe re-run failed too (exit ${String(rerun.status ?? rerun.signal)}).\n${banner}\n`);
    return 1;
  }
  const second = JSON.parse(readFileSync(rerunReport, 'utf8')) as Report;
  const rerunNames = new Set(second.testResults.map((f) => f.name));
  const kept = first.testResults.filter((f) => !rerunNames.has(f.name));
  const merged: FileResult[] = [...kept, ...second.testResults];
  const report: Report = {
    ...first,
    numPassedTests: count(merged, 'passed'),
    numFailedTests: count(merged, 'failed'),
    numPendingTests: count(merged, 'pending') + count(merged, 'skipped'),
    numTodoTests: count(merged, 'todo'),
    numTotalTests: merged.reduce((n, f) => n + f.assertionResults.length, 0),
    testResults: merged,
  };
  writeFileSync(reportFile, JSON.stringify(report));
  process.stdout.write(`${banner}\nThe crashed file(s) passed on their re-run (${count(second.testResults, 'passed')} tests). The crash is reported above; CI continues.\n${banner}\n`);
  return report.numFailedTests === 0 ? 0 : 1;
}

process.exitCode = main();
