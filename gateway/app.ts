/**
 * Builds the gateway's HTTP application: an OpenAPIHono (GatewayHono: the same API, with route
 * validation compiled once per route) with the request frame (request id, security headers,
 * HTTPS-behind-proxy check, body rules, access log, metrics), zod validation errors, the single
 * onError, the operational endpoints, and the OpenAPI document and docs page. Features add their
 * operations as RouteModules. Pure construction: nothing listens here (see server.ts) and
 * nothing global is touched.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Registry } from 'prom-client';
import type { Config } from '../core/config/schema.ts';
import type { HealthCheck } from '../core/health.ts';
import type { Logger } from '../core/log/logger.ts';
import type { AppEnv } from './app-env.ts';
import { GatewayHono } from './http/lean-openapi.ts';
import { createHttpMetrics } from './http/metrics.ts';
import { handleError, handleNotFound } from './http/on-error.ts';
import { requestFrame } from './http/request-frame.ts';
import type { Lifecycle } from './lifecycle.ts';
import { openApiRoutes } from './openapi/openapi-routes.ts';
import { opsRoutes } from './ops/ops-routes.ts';
import type { RouteModule } from './route-module.ts';

export type { AppEnv, AppVariables } from './app-env.ts';
export type { RouteModule } from './route-module.ts';
export { createLifecycle, LifecycleState, type Lifecycle } from './lifecycle.ts';

export interface GatewayDeps {
  readonly config: Config;
  readonly log: Logger;
  /** Components reported by GET /healthz (db, redis, later media, workers). */
  readonly health: readonly HealthCheck[];
  /** A fresh prom-client Registry for this app (`new Registry()`), never the global one. */
  readonly metrics: Registry;
  /** Read by GET /readyz; the HTTP server sets it (ready when listening, draining on close). */
  readonly lifecycle: Lifecycle;
}

export function createApp(deps: GatewayDeps, modules: readonly RouteModule[] = []): OpenAPIHono<AppEnv> {
  const app = new GatewayHono();

  // First, so it wraps everything: every response gets a request id, headers, a metric, a log line.
  const { trustProxy, bodyLimitBytes } = deps.config;
  // Encrypted attachments and large send batches exceed the general body limit: only their paths
  // get a larger one (never a smaller one). The send body is base64 JSON: 4/3 of the bytes plus framing.
  const bodyLimitOverrides = [
    { pathPrefix: '/v1/attachments', limitBytes: deps.config.attachmentMaxBytes },
    { pathPrefix: '/v1/messages', limitBytes: Math.ceil(deps.config.messageBatchMaxBytes / 3) * 4 + 64 * 1024 },
  ];
  app.use(requestFrame({ log: deps.log, metrics: createHttpMetrics(deps.metrics), trustProxy, bodyLimitBytes, bodyLimitOverrides }));
  app.onError(handleError);
  app.notFound(handleNotFound);

  opsRoutes({ health: deps.health, lifecycle: deps.lifecycle, metrics: deps.metrics })(app);
  for (const register of modules) register(app);
  openApiRoutes(app);
  return app;
}
