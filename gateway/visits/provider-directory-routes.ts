/**
 * The provider directory for scheduling: the active providers' ids and display names, so a
 * scheduler can book an appointment with one, list one's day, or aim a reminder campaign at one's
 * patients (the appointment and campaign APIs take a provider id). Whoever may list appointments
 * by provider (`appointment.list`) may list the providers; staff display names are not PHI, and
 * nothing else of the account (username, role history, MFA state) is shown — that stays in the
 * admin API. Read-only, not audited beyond the access decision.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { guardedErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

export interface DirectoryProvider {
  readonly id: string;
  readonly displayName: string;
}

export interface ProviderDirectoryRouteDeps {
  /** Active providers, in a stable order. */
  readonly providers: () => Promise<readonly DirectoryProvider[]>;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
}

const ProviderSchema = z.object({ id: z.string(), displayName: z.string() }).openapi('DirectoryProvider');

const list = createRoute({
  security: [{ session: [] }],
  tags: ['appointments'],
  method: 'get',
  path: '/providers',
  summary: 'Active providers (id and display name), to book with or aim a campaign at',
  responses: { 200: { description: 'Providers by display name', content: { 'application/json': { schema: z.object({ providers: z.array(ProviderSchema) }) } } }, ...guardedErrors },
});

export function providerDirectoryRoutes(deps: ProviderDirectoryRouteDeps): RouteModule {
  return (app) => {
    app.openapi({ ...list, middleware: [deps.sessionMw.required] }, async (c) => {
      await deps.access.authorize(c, Action.appointmentList, { type: 'system' });
      const providers = [...(await deps.providers())].sort((a, b) => a.displayName.localeCompare(b.displayName) || a.id.localeCompare(b.id));
      return c.json({ providers: providers.map((p) => ({ id: p.id, displayName: p.displayName })) }, 200);
    });
  };
}
