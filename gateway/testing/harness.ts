/**
 * Test support for gateway tests: a config built the way production builds it, a logger whose
 * output the test can read, and an app wired with a fresh metrics registry. Not a test file.
 */
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { loadConfig } from '../../core/config/load.ts';
import type { Config } from '../../core/config/schema.ts';
import type { HealthCheck } from '../../core/health.ts';
import { createLogger, type Logger } from '../../core/log/logger.ts';
import { createApp, createLifecycle, type Lifecycle, type RouteModule } from '../app.ts';
import { flushAllTelemetry } from '../http/telemetry.ts';

export function testConfig(env: Readonly<Record<string, string>> = {}): Config {
  return loadConfig({ APP_ENV: 'test', PORT: '0', LOG_LEVEL: 'info', ...env });
}

export interface CapturedLog {
  readonly log: Logger;
  /** Everything written so far, raw. */
  text(): string;
  /** Parsed JSON lines. */
  lines(): Record<string, unknown>[];
}

export function captureLog(level: 'info' | 'debug' = 'info'): CapturedLog {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ level, destination });
  const text = (): string => chunks.join('');
  return {
    log,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Access lines and metrics are written shortly after the response: write them now. */
export const afterTelemetry = (): Promise<void> =>
  new Promise((resolve) =>
    setImmediate(() => {
      flushAllTelemetry();
      resolve();
    }),
  );

export interface TestAppOptions {
  readonly config?: Config;
  readonly health?: readonly HealthCheck[];
  readonly modules?: readonly RouteModule[];
  readonly lifecycle?: Lifecycle;
}

export function testApp(opts: TestAppOptions = {}) {
  const captured = captureLog();
  const config = opts.config ?? testConfig();
  const metrics = new Registry();
  const lifecycle = opts.lifecycle ?? createLifecycle();
  const app = createApp({ config, log: captured.log, health: opts.health ?? [], metrics, lifecycle }, opts.modules ?? []);
  return { app, config, metrics, lifecycle, logs: captured };
}
