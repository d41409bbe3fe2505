/**
 * `npm run load -- <scenario> [--vus N] [--duration S] [--iterations M] [--out FILE]`: runs the
 * scenario, which starts a private deployment on loopback (deployment.ts) and seeds it through the API,
 * prints a table on stdout (progress goes to stderr while it runs) and writes a JSON summary.
 * Exit codes: 0 every threshold passed, 1 a threshold failed or the run failed, 2 usage.
 *
 * Plain Node rather than k6: k6 is not installable here (see docs/load.md), and the scenarios
 * need the real SDK anyway — libsignal end-to-end encryption has no JavaScript build k6 could run.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startDeployment, killDeployments, type Deployment } from './deployment.ts';
import { campaignScenario } from './campaign.ts';
import { loginScenario } from './login.ts';
import { messagingScenario } from './messaging.ts';
import { scaleoutScenario } from './scaleout.ts';
import { visitJoinScenario } from './visit-join.ts';
import { checkThresholds } from './metrics.ts';
import { loadAverage, machineFacts, renderTable, writeSummary, type RunSummary } from './report.ts';
import type { Scenario, ScenarioOptions } from './scenario.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const EXIT = { pass: 0, fail: 1, usage: 2 } as const;

const SCENARIOS: Readonly<Record<string, Scenario>> = {
  [loginScenario.name]: loginScenario,
  [visitJoinScenario.name]: visitJoinScenario,
  [campaignScenario.name]: campaignScenario,
  [messagingScenario.name]: messagingScenario,
  [scaleoutScenario.name]: scaleoutScenario,
};

const LIMITS = { vus: 500, duration: 3600, iterations: 100_000 } as const;

function usage(problem?: string): never {
  const lines = Object.values(SCENARIOS).map(
    (s) => `  ${s.name.padEnd(12)} ${s.summary}\n  ${''.padEnd(12)} defaults: --vus ${s.defaults.vus} --duration ${s.defaults.duration} --iterations ${s.defaults.iterations} (${s.iterationsMean})`,
  );
  process.stderr.write(
    `${problem === undefined ? '' : `${problem}\n\n`}usage: npm run load -- <scenario> [--vus N] [--duration S] [--iterations M] [--out FILE]\n\nscenarios:\n${lines.join('\n')}\n\n` +
      `The JSON summary goes to --out (default .bench/load-<scenario>.json). Exit: 0 all thresholds pass, 1 otherwise, 2 usage.\n`,
  );
  process.exit(EXIT.usage);
}

function count(name: keyof typeof LIMITS, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > LIMITS[name]) usage(`--${name} must be a whole number from 1 to ${LIMITS[name]}`);
  return n;
}

function parse(): { scenario: Scenario; options: ScenarioOptions; out: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: { vus: { type: 'string' }, duration: { type: 'string' }, iterations: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    usage(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help === true) usage();
  if (positionals.length !== 1) usage(positionals.length === 0 ? 'name a scenario' : 'name exactly one scenario');
  const name = positionals[0] ?? '';
  const scenario = SCENARIOS[name];
  if (scenario === undefined) usage(`unknown scenario "${name}"`);
  const d = scenario.defaults;
  const options = { vus: count('vus', values.vus, d.vus), duration: count('duration', values.duration, d.duration), iterations: count('iterations', values.iterations, d.iterations) };
  return { scenario, options, out: path.resolve(values.out ?? path.join(ROOT, '.bench', `load-${scenario.name}.json`)) };
}

const { scenario, options, out } = parse();
const progress = (line: string) => process.stderr.write(`[load ${scenario.name}] ${line}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killDeployments();
    process.exit(130);
  });
}

let deployment: Deployment | undefined;
try {
  const startedAt = new Date();
  const loadAtStart = loadAverage();
  const t0 = performance.now();
  const deploy = async (extra: Readonly<Record<string, string>> = {}): Promise<Deployment> => {
    if (deployment !== undefined) throw new Error('a scenario starts at most one deployment');
    deployment = await startDeployment({ ...scenario.settings, ...extra }, progress);
    progress(`deployment up at ${deployment.baseUrl}`);
    return deployment;
  };
  const outcome = await scenario.run({ deploy, options, progress });
  const thresholds = checkThresholds(outcome.metrics, outcome.thresholds);
  const summary: RunSummary = {
    scenario: scenario.name,
    startedAt: startedAt.toISOString(),
    seconds: (performance.now() - t0) / 1000,
    options: { ...options },
    machine: machineFacts(loadAtStart),
    notes: [...scenario.settingsWhy, ...(outcome.notes ?? [])],
    metrics: outcome.metrics,
    thresholds,
    pass: thresholds.every((t) => t.pass),
  };
  if (deployment !== undefined) {
    progress('stopping the deployment');
    await deployment.stop();
    deployment = undefined;
  }
  process.stdout.write(renderTable(summary));
  await writeSummary(out, summary);
  const shown = path.relative(process.cwd(), out);
  process.stdout.write(`summary: ${shown.startsWith('..') ? out : shown}\n`);
  process.exitCode = summary.pass ? EXIT.pass : EXIT.fail;
} catch (err) {
  process.stderr.write(`load ${scenario.name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
  if (deployment !== undefined) {
    await deployment.stop({ keepLog: true });
    process.stderr.write(`deployment log: ${deployment.logFile}\n`);
  }
  process.exitCode = EXIT.fail;
}
