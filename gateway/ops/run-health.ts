/**
 * Runs every component's HealthCheck in parallel, each bounded by a timeout, into the per-component
 * report GET /healthz returns. A failing component reports its error message (HealthCheck's
 * contract: safe to show operators), shortened; the overall status is `degraded` if any fails.
 */
import type { HealthCheck } from '../../core/health.ts';

export const HEALTH_CHECK_TIMEOUT_MS = 2000;
const MAX_ERROR_CHARS = 200;

export type ComponentHealth = { readonly status: 'ok'; readonly latencyMs: number } | { readonly status: 'error'; readonly error: string };

export interface HealthReport {
  readonly status: 'ok' | 'degraded';
  readonly components: Readonly<Record<string, ComponentHealth>>;
}

async function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function runOne(check: HealthCheck, timeoutMs: number): Promise<ComponentHealth> {
  const started = performance.now();
  try {
    // check() may throw synchronously; keep that inside the same error path.
    await withTimeout(Promise.resolve().then(() => check.check()), timeoutMs);
    return { status: 'ok', latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (err) {
    const message = err instanceof Error ? err.message : 'check failed';
    return { status: 'error', error: message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS)}…` : message };
  }
}

export async function runHealthChecks(checks: readonly HealthCheck[], timeoutMs = HEALTH_CHECK_TIMEOUT_MS): Promise<HealthReport> {
  const results = await Promise.all(checks.map(async (check) => [check.name, await runOne(check, timeoutMs)] as const));
  const components: Record<string, ComponentHealth> = {};
  for (const [name, health] of results) components[name] = health;
  return { status: results.every(([, h]) => h.status === 'ok') ? 'ok' : 'degraded', components };
}
