/** The contract between `npm run load` (run.ts) and each scenario. */
import type { Deployment } from './deployment.ts';
import type { MetricSummary, Threshold } from './metrics.ts';

export interface ScenarioOptions {
  /** Virtual users: what one means is the scenario's to say (a device pair, a signed-in user…). */
  readonly vus: number;
  /** Seconds of load after setup. */
  readonly duration: number;
  /** Scenario-specific count (messages per device, requests per user…). */
  readonly iterations: number;
}

export interface ScenarioContext {
  /**
   * Starts the all-in-one deployment on loopback with the scenario's `settings` plus `extra`
   * (addresses of local stand-ins the scenario started first, such as a Twilio). At most once;
   * run.ts stops it after the run and keeps its log when the run fails.
   */
  deploy(extra?: Readonly<Record<string, string>>): Promise<Deployment>;
  readonly options: ScenarioOptions;
  /** A progress line for stderr (counts and ids only). */
  readonly progress: (line: string) => void;
}

export interface ScenarioOutcome {
  readonly metrics: Readonly<Record<string, MetricSummary>>;
  readonly thresholds: readonly Threshold[];
  /** Extra facts worth keeping with the numbers. */
  readonly notes?: readonly string[];
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  /** What --iterations means here (for the usage text). */
  readonly iterationsMean: string;
  readonly defaults: ScenarioOptions;
  /** Server settings (environment) that differ from the defaults, and why (shown in the report). */
  readonly settings: Readonly<Record<string, string>>;
  readonly settingsWhy: readonly string[];
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}

/** Calls `tick` every `ms` until the returned stop function is called. */
export function every(ms: number, tick: () => void): () => void {
  const timer = setInterval(tick, ms);
  timer.unref();
  return () => clearInterval(timer);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
