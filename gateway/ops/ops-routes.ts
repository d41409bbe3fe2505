/**
 * Operational endpoints: GET /healthz (per-component status; 503 when any component fails),
 * GET /readyz (200 only while the process should receive traffic) and GET /metrics (Prometheus
 * text from this app's registry). Unauthenticated by design: they carry no PHI, no ids.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Registry } from 'prom-client';
import type { HealthCheck } from '../../core/health.ts';
import { LifecycleState, type Lifecycle } from '../lifecycle.ts';
import { commonErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import { runHealthChecks } from './run-health.ts';

const ComponentHealthSchema = z
  .object({
    status: z.enum(['ok', 'error']),
    latencyMs: z.number().optional().openapi({ description: 'Present when ok.' }),
    error: z.string().optional().openapi({ description: 'Present when failing; safe for operators.' }),
  })
  .openapi('ComponentHealth');

const HealthReportSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    components: z.record(z.string(), ComponentHealthSchema).openapi({ example: { db: { status: 'ok', latencyMs: 0.8 } } }),
  })
  .openapi('HealthReport');

const ReadinessSchema = z.object({ status: z.enum(['ready', 'starting', 'draining']) }).openapi('Readiness');

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  summary: 'Component health',
  description: 'Runs every component check (database, Redis, …) in parallel with a 2 s timeout each.',
  responses: {
    200: { description: 'Every component is healthy', content: { 'application/json': { schema: HealthReportSchema } } },
    503: { description: 'At least one component failed', content: { 'application/json': { schema: HealthReportSchema } } },
    ...commonErrors,
  },
});

const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['operations'],
  summary: 'Readiness for traffic',
  description: '503 while the process starts or drains connections before shutting down.',
  responses: {
    200: { description: 'Accepting traffic', content: { 'application/json': { schema: ReadinessSchema } } },
    503: { description: 'Starting or draining', content: { 'application/json': { schema: ReadinessSchema } } },
    ...commonErrors,
  },
});

const metrics = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['operations'],
  summary: 'Prometheus metrics',
  responses: {
    200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } },
    ...commonErrors,
  },
});

export interface OpsDeps {
  readonly health: readonly HealthCheck[];
  readonly lifecycle: Lifecycle;
  readonly metrics: Registry;
}

export function opsRoutes(deps: OpsDeps): RouteModule {
  return (app) => {
    app.openapi(healthz, async (c) => {
      const report = await runHealthChecks(deps.health);
      if (report.status !== 'ok') {
        const failed = Object.entries(report.components).filter(([, h]) => h.status === 'error').map(([name]) => name);
        c.get('log').warn({ failed }, 'health check failed');
        return c.json(report, 503);
      }
      return c.json(report, 200);
    });

    app.openapi(readyz, (c) => {
      const status = deps.lifecycle.state;
      return status === LifecycleState.ready ? c.json({ status }, 200) : c.json({ status }, 503);
    });

    app.openapi(metrics, async (c) => c.text(await deps.metrics.metrics(), 200, { 'Content-Type': deps.metrics.contentType }));
  };
}
