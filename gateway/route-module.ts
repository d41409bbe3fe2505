/**
 * How a feature (auth, messaging, visits…) plugs into the gateway: a function that registers its
 * operations with `app.openapi(createRoute({...}), handler)`, so each one is validated by its zod
 * schemas and appears in /openapi.json and /docs. Middleware a module needs goes in the route's
 * `middleware` option or in `app.use('/prefix/*', …)` registered before its routes.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './app-env.ts';

export type RouteModule = (app: OpenAPIHono<AppEnv>) => void;
