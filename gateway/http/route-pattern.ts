/**
 * The matched route pattern of a request (`/patients/:id`), for logs and metric labels. Never the
 * raw URL: paths and query strings carry ids.
 */
import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';
import { UNMATCHED_ROUTE } from './metrics.ts';

/**
 * The most specific route that matched: the last one registered for a concrete method (app.use
 * middleware registers as method ALL with a wildcard path). Known even when a middleware
 * answered before the handler ran (413, 415, 403). "unmatched" when only middleware matched.
 */
export function routePattern(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    if (route !== undefined && (route.method !== 'ALL' || !route.path.endsWith('*'))) return route.path;
  }
  return UNMATCHED_ROUTE;
}
